import {
  GetAccountAuthorizationDetailsCommand,
  IAMClient,
  ListUsersCommand,
  type UserDetail,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { readUserIdentities } from '../../../lib/inventory/authorization-details.js';
import { machineUsers } from '../../../lib/retirement/retire.js';
import { manualClock } from '../../helpers/clock.js';

/**
 * moto ignores MaxItems (it returns everything on one page), so the page boundaries of IAM's list calls
 * are covered here: a fake that pages as IAM documents it (MaxItems per page, IsTruncated and Marker
 * while more remain), at sizes just under, at and just over the page size.
 */
const iam = mockClient(IAMClient);

beforeEach(() => {
  iam.reset();
});

/** Serves `items` in pages of the caller's MaxItems (IAM's default is 100), as IAM does. */
function pagedLikeIam<T>(items: T[], field: string) {
  const served: Array<{ marker?: string; size: number }> = [];
  const handler = (input: { Marker?: string; MaxItems?: number }) => {
    const from = Number(input.Marker ?? 0);
    const to = Math.min(items.length, from + (input.MaxItems ?? 100));
    served.push({ ...(input.Marker ? { marker: input.Marker } : {}), size: to - from });
    return {
      [field]: items.slice(from, to),
      IsTruncated: to < items.length,
      ...(to < items.length ? { Marker: String(to) } : {}),
    };
  };
  return { handler, served };
}

const user = (i: number): UserDetail => ({
  UserName: `u${String(i).padStart(5, '0')}`,
  UserId: `AIDA${i}`,
  Arn: `arn:aws:iam::123456789012:user/machine/u${i}`,
  Path: '/machine/',
  CreateDate: new Date('2026-01-01T00:00:00Z'),
});

const SIZES: Array<[number, number]> = [
  [0, 1],
  [999, 1],
  [1000, 1],
  [1001, 2],
  [2000, 2],
  [2001, 3],
];

describe('page boundaries of the IAM list calls (pages of 1,000)', () => {
  it.each(SIZES)(
    'GetAccountAuthorizationDetails: %i users take %i call(s), each user read once',
    async (n, calls) => {
      const users = Array.from({ length: n }, (_, i) => user(i));
      const { handler, served } = pagedLikeIam(users, 'UserDetailList');
      iam.on(GetAccountAuthorizationDetailsCommand).callsFake(handler);
      const read = await readUserIdentities(new IAMClient({}));
      expect(read.map((u) => u.userName)).toEqual(users.map((u) => u.UserName));
      expect(served).toHaveLength(calls);
      expect(served.every((page) => page.size <= 1000)).toBe(true);
    },
  );

  it.each(SIZES)(
    'ListUsers under the machine path: %i users take %i call(s), each user read once',
    async (n, calls) => {
      const users = Array.from({ length: n }, (_, i) => user(i));
      const { handler, served } = pagedLikeIam(users, 'Users');
      iam.on(ListUsersCommand).callsFake(handler);
      const read = await machineUsers(
        { clients: { iam: new IAMClient({}) } as never, clock: manualClock() },
        defaultConfig,
      );
      expect(read.map((u) => u.userName)).toEqual(users.map((u) => u.UserName));
      expect(served).toHaveLength(calls);
      expect(iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: '/machine/', MaxItems: 1000 });
    },
  );

  it('follows a truncated page that happens to be empty (IAM may return fewer items than MaxItems)', async () => {
    const responses = [
      { Users: [], IsTruncated: true, Marker: 'a' },
      { Users: [user(1)], IsTruncated: false },
    ];
    let call = 0;
    iam.on(ListUsersCommand).callsFake(() => responses[call++]);
    const read = await machineUsers(
      { clients: { iam: new IAMClient({}) } as never, clock: manualClock() },
      defaultConfig,
    );
    expect(read.map((u) => u.userName)).toEqual(['u00001']);
    expect(call).toBe(2);
  });
});
