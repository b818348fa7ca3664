import { defaultConfig } from '../../lib/config.js';
import type { AccessKeyRecord, Inventory, UserRecord } from '../../lib/inventory/types.js';

export const NOW = new Date('2026-06-01T12:00:00Z');
export const daysAgo = (days: number, from = NOW) => new Date(from.getTime() - days * 86_400_000);

export function key(overrides: Partial<AccessKeyRecord> = {}): AccessKeyRecord {
  return {
    accessKeyId: 'AKIAEXAMPLE000000001',
    status: 'Active',
    createdAt: daysAgo(10),
    lastUsedAt: daysAgo(1),
    ...overrides,
  };
}

export function user(overrides: Partial<UserRecord> = {}): UserRecord {
  const userName = overrides.userName ?? 'ci-deploy';
  return {
    userName,
    userId: `AIDA${userName.toUpperCase()}`,
    arn: `arn:aws:iam::123456789012:user${overrides.path ?? '/machine/'}${userName}`,
    path: '/machine/',
    createdAt: daysAgo(400),
    tags: { owner: 'platform-team' },
    hasConsolePassword: false,
    policies: [],
    keys: [key()],
    ...overrides,
  };
}

export function inventory(users: UserRecord[], overrides: Partial<Inventory> = {}): Inventory {
  return {
    accountId: '123456789012',
    strategy: 'exact',
    collectedAt: NOW,
    usersReadExactly: [],
    users,
    ...overrides,
  };
}

export const policy = defaultConfig;
