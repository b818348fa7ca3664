import {
  type OrganizationsClient,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
  paginateListTagsForResource,
} from '@aws-sdk/client-organizations';
import { mapLimit } from '../concurrency.js';

export { selectorEntryProblem } from './selector.js';

/** A member account as Organizations lists it. */
export interface OrgAccount {
  id: string;
  name: string;
}

/**
 * Which accounts organization mode works in: account ids (12 digits), organizational unit ids
 * (`ou-...`, which include every account below them, nested OUs too; the root `r-...` is every
 * account) or account tags (`tag:KEY=VALUE`, or `tag:KEY` for any value). An empty `include` means
 * every active account; `exclude` wins over `include`.
 */
export interface AccountSelector {
  include: readonly string[];
  exclude: readonly string[];
}

const isOu = (id: string) => id.startsWith('ou-') || id.startsWith('r-');
const isTag = (id: string) => id.startsWith('tag:');

/** An account's tags, as Organizations lists them. */
export type AccountTags = ReadonlyMap<string, string>;

function tagMatches(entry: string, tags: AccountTags | undefined): boolean {
  const spec = entry.slice('tag:'.length);
  const eq = spec.indexOf('=');
  const key = eq < 0 ? spec : spec.slice(0, eq);
  if (tags === undefined || !tags.has(key)) return false;
  return eq < 0 || tags.get(key) === spec.slice(eq + 1);
}

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

/** Each account's tags (ListTagsForResource, paginated), a few accounts at a time (Organizations throttles). */
export async function accountTags(
  org: OrganizationsClient,
  accountIds: readonly string[],
  concurrency = 4,
): Promise<Map<string, Map<string, string>>> {
  const read = await mapLimit(accountIds, concurrency, async (id) => {
    const tags = new Map<string, string>();
    for await (const page of paginateListTagsForResource({ client: org }, { ResourceId: id }))
      for (const tag of page.Tags ?? []) if (tag.Key !== undefined) tags.set(tag.Key, tag.Value ?? '');
    return [id, tags] as const;
  });
  return new Map(read);
}

/**
 * The accounts to work in, in id order. Pure: `ouMembers` maps each OU named in the selector to the
 * account ids below it; `tags` holds each account's tags when the selector names a tag.
 */
export function selectAccounts(
  accounts: readonly OrgAccount[],
  selector: AccountSelector,
  ouMembers: ReadonlyMap<string, ReadonlySet<string>>,
  tags: ReadonlyMap<string, AccountTags> = new Map(),
): OrgAccount[] {
  const matches = (account: OrgAccount, ids: readonly string[]) =>
    ids.some((id) =>
      isOu(id)
        ? ouMembers.get(id)?.has(account.id) === true
        : isTag(id)
          ? tagMatches(id, tags.get(account.id))
          : id === account.id,
    );
  return accounts.filter(
    (account) =>
      (selector.include.length === 0 || matches(account, selector.include)) &&
      !matches(account, selector.exclude),
  );
}

/**
 * Lists the organization's active accounts and applies the selector. OUs are read only when named,
 * tags only when a tag is named (one ListTagsForResource per active account).
 */
export async function accountsToWorkIn(
  org: OrganizationsClient,
  selector: AccountSelector,
): Promise<OrgAccount[]> {
  const accounts = await listOrgAccounts(org);
  const named = [...selector.include, ...selector.exclude];
  const ous = [...new Set(named.filter(isOu))];
  const ouMembers = new Map<string, Set<string>>();
  for (const ou of ous) ouMembers.set(ou, await accountsUnder(org, ou));
  const tags = named.some(isTag)
    ? await accountTags(
        org,
        accounts.map((a) => a.id),
      )
    : new Map<string, Map<string, string>>();
  return selectAccounts(accounts, selector, ouMembers, tags);
}
