import {
  type Account,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  accountsToWorkIn,
  listOrgAccounts,
  type OrgAccount,
  selectAccounts,
  selectorEntryProblem,
} from '../../../lib/accounts/organization.js';

const org = mockClient(OrganizationsClient);

beforeEach(() => {
  org.reset();
});

const account = (i: number, state = 'ACTIVE'): Account => ({
  Id: String(100000000000 + i),
  Name: `team-${i}`,
  State: state as Account['State'],
});

/** Serves `items` in pages of the caller's MaxResults with NextToken, as Organizations does. */
function paged(items: Account[]) {
  const sizes: number[] = [];
  return {
    sizes,
    handler: (input: { NextToken?: string; MaxResults?: number }) => {
      const from = Number(input.NextToken ?? 0);
      const to = Math.min(items.length, from + (input.MaxResults ?? 20));
      sizes.push(to - from);
      return { Accounts: items.slice(from, to), ...(to < items.length ? { NextToken: String(to) } : {}) };
    },
  };
}

describe('listOrgAccounts', () => {
  it.each([
    [0, 1],
    [19, 1],
    [20, 1],
    [21, 2],
    [40, 2],
    [101, 6],
  ])('reads every page of ListAccounts: %i accounts in pages of 20 take %i call(s)', async (n, calls) => {
    const all = Array.from({ length: n }, (_, i) => account(i));
    const { handler, sizes } = paged(all);
    org.on(ListAccountsCommand).callsFake(handler);
    const listed = await listOrgAccounts(new OrganizationsClient({}));
    expect(listed.map((a) => a.id)).toEqual(all.map((a) => a.Id));
    expect(sizes).toHaveLength(calls);
    expect(org).toHaveReceivedCommandWith(ListAccountsCommand, { MaxResults: 20 });
  });

  it('leaves out accounts that are not active (suspended, closing)', async () => {
    org.on(ListAccountsCommand).resolves({
      Accounts: [account(1), account(2, 'SUSPENDED'), account(3, 'PENDING_CLOSURE')],
    });
    expect(await listOrgAccounts(new OrganizationsClient({}))).toEqual([
      { id: '100000000001', name: 'team-1' },
    ]);
  });
});

describe('selectAccounts', () => {
  const accounts: OrgAccount[] = [1, 2, 3, 4].map((i) => ({ id: `10000000000${i}`, name: `a${i}` }));
  const ous = new Map([['ou-ab12-prod', new Set(['100000000002', '100000000003'])]]);

  it('takes every account when nothing is included, minus the excluded ones', () => {
    expect(
      selectAccounts(accounts, { include: [], exclude: ['100000000004'] }, ous).map((a) => a.id),
    ).toEqual(['100000000001', '100000000002', '100000000003']);
  });

  it('includes by account id and by OU, and an exclusion wins', () => {
    expect(
      selectAccounts(
        accounts,
        { include: ['ou-ab12-prod', '100000000001'], exclude: ['100000000003'] },
        ous,
      ).map((a) => a.id),
    ).toEqual(['100000000001', '100000000002']);
  });

  it('includes and excludes by account tag, with or without a value', () => {
    const tags = new Map([
      ['100000000001', new Map([['team', 'payments']])],
      [
        '100000000002',
        new Map([
          ['team', 'search'],
          ['keyrot', 'off'],
        ]),
      ],
      [
        '100000000003',
        new Map([
          ['team', 'payments'],
          ['keyrot', ''],
        ]),
      ],
      ['100000000004', new Map<string, string>()],
    ]);
    const ids = (include: string[], exclude: string[]) =>
      selectAccounts(accounts, { include, exclude }, ous, tags).map((a) => a.id);
    expect(ids(['tag:team=payments'], [])).toEqual(['100000000001', '100000000003']);
    expect(ids(['tag:team'], ['tag:keyrot'])).toEqual(['100000000001']);
    expect(ids([], ['tag:keyrot=off'])).toEqual(['100000000001', '100000000003', '100000000004']);
    // A tag value is matched whole: "pay" is not "payments".
    expect(ids(['tag:team=pay'], [])).toEqual([]);
    // Tags that were not read match nothing.
    expect(selectAccounts(accounts, { include: ['tag:team'], exclude: [] }, ous).map((a) => a.id)).toEqual(
      [],
    );
  });

  it('says what a selector entry may be when it is none of them', () => {
    for (const ok of [
      '123456789012',
      'ou-ab12-abcdefgh',
      'r-ab12',
      'tag:team=payments',
      'tag:team',
      'tag:k=',
    ])
      expect(selectorEntryProblem(ok)).toBeUndefined();
    expect(selectorEntryProblem('12345')).toBe(
      '"12345" is not an account id (12 digits), an OU id (ou-xxxx-xxxxxxxx), the root id (r-xxxx) or an account tag (tag:KEY=VALUE or tag:KEY)',
    );
    expect(selectorEntryProblem('team=payments')).toMatch(/is not an account id/);
  });

  it('excludes a whole OU', () => {
    expect(
      selectAccounts(accounts, { include: [], exclude: ['ou-ab12-prod'] }, ous).map((a) => a.id),
    ).toEqual(['100000000001', '100000000004']);
  });
});

describe('accountsToWorkIn', () => {
  it('reads the OUs it is given, nested OUs included, and only those', async () => {
    org.on(ListAccountsCommand).resolves({ Accounts: [1, 2, 3].map((i) => account(i)) });
    org.on(ListAccountsForParentCommand, { ParentId: 'ou-root-prod' }).resolves({ Accounts: [account(1)] });
    org.on(ListAccountsForParentCommand, { ParentId: 'ou-root-eu' }).resolves({ Accounts: [account(2)] });
    org
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: 'ou-root-prod' })
      .resolves({ OrganizationalUnits: [{ Id: 'ou-root-eu' }] });
    org
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: 'ou-root-eu' })
      .resolves({ OrganizationalUnits: [] });
    const selected = await accountsToWorkIn(new OrganizationsClient({}), {
      include: ['ou-root-prod'],
      exclude: [],
    });
    expect(selected.map((a) => a.id)).toEqual(['100000000001', '100000000002']);
  });

  it('makes no OU or tag call when the selector names none', async () => {
    org.on(ListAccountsCommand).resolves({ Accounts: [account(1)] });
    await accountsToWorkIn(new OrganizationsClient({}), { include: [], exclude: [] });
    expect(org).not.toHaveReceivedCommand(ListAccountsForParentCommand);
    expect(org).not.toHaveReceivedCommand(ListTagsForResourceCommand);
  });

  it("reads every page of each account's tags when the selector names a tag", async () => {
    // Prepare: account 1's tags come in two pages; the team tag is on the second.
    org.on(ListAccountsCommand).resolves({ Accounts: [1, 2].map((i) => account(i)) });
    org
      .on(ListTagsForResourceCommand, { ResourceId: '100000000001' })
      .callsFake((input: { NextToken?: string }) =>
        input.NextToken === 'p2'
          ? { Tags: [{ Key: 'team', Value: 'payments' }] }
          : { Tags: [{ Key: 'env', Value: 'prod' }], NextToken: 'p2' },
      )
      .on(ListTagsForResourceCommand, { ResourceId: '100000000002' })
      .resolves({ Tags: [{ Key: 'team', Value: 'search' }] });
    // Act
    const selected = await accountsToWorkIn(new OrganizationsClient({}), {
      include: ['tag:team=payments'],
      exclude: [],
    });
    // Assess
    expect(selected.map((a) => a.id)).toEqual(['100000000001']);
    expect(org).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 3);
  });
});
