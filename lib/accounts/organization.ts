import {
  type OrganizationsClient,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
} from '@aws-sdk/client-organizations';

/** A member account as Organizations lists it. */
export interface OrgAccount {
  id: string;
  name: string;
}

/**
 * Which accounts organization mode works in: account ids (12 digits) or organizational unit ids
 * (`ou-...`, which include every account below them, nested OUs too). An empty `include` means every
 * active account; `exclude` wins over `include`.
 */
export interface AccountSelector {
  include: readonly string[];
  exclude: readonly string[];
}

const isOu = (id: string) => id.startsWith('ou-');

/**
 * Every ACTIVE account of the organization (ListAccounts, pages of 20, its maximum). Suspended and
 * pending-closure accounts are left out: nothing can be assumed into them.
 */
export async function listOrgAccounts(org: OrganizationsClient): Promise<OrgAccount[]> {
  const accounts: OrgAccount[] = [];
  for await (const page of paginateListAccounts({ client: org, pageSize: 20 }, {})) {
    for (const account of page.Accounts ?? []) {
      const status = account.State ?? account.Status;
      if (account.Id && status === 'ACTIVE') accounts.push({ id: account.Id, name: account.Name ?? '' });
    }
  }
  return accounts.sort((a, b) => a.id.localeCompare(b.id));
}

/** The ids of every account in an OU and the OUs below it (ListAccountsForParent, ListOrganizationalUnitsForParent). */
export async function accountsUnder(org: OrganizationsClient, ouId: string): Promise<Set<string>> {
  const found = new Set<string>();
  const queue = [ouId];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for await (const page of paginateListAccountsForParent(
      { client: org, pageSize: 20 },
      { ParentId: parent },
    ))
      for (const account of page.Accounts ?? []) if (account.Id) found.add(account.Id);
    for await (const page of paginateListOrganizationalUnitsForParent(
      { client: org, pageSize: 20 },
      { ParentId: parent },
    ))
      for (const ou of page.OrganizationalUnits ?? []) if (ou.Id) queue.push(ou.Id);
  }
  return found;
}

/**
 * The accounts to work in, in id order. Pure: `ouMembers` maps each OU named in the selector to the
 * account ids below it.
 */
export function selectAccounts(
  accounts: readonly OrgAccount[],
  selector: AccountSelector,
  ouMembers: ReadonlyMap<string, ReadonlySet<string>>,
): OrgAccount[] {
  const matches = (account: OrgAccount, ids: readonly string[]) =>
    ids.some((id) => (isOu(id) ? ouMembers.get(id)?.has(account.id) === true : id === account.id));
  return accounts.filter(
    (account) =>
      (selector.include.length === 0 || matches(account, selector.include)) &&
      !matches(account, selector.exclude),
  );
}

/** Lists the organization's active accounts and applies the selector (OUs are read only when named). */
export async function accountsToWorkIn(
  org: OrganizationsClient,
  selector: AccountSelector,
): Promise<OrgAccount[]> {
  const accounts = await listOrgAccounts(org);
  const ous = [...new Set([...selector.include, ...selector.exclude].filter(isOu))];
  const ouMembers = new Map<string, Set<string>>();
  for (const ou of ous) ouMembers.set(ou, await accountsUnder(org, ou));
  return selectAccounts(accounts, selector, ouMembers);
}
