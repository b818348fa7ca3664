import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import { mapLimit } from '../concurrency.js';
import type { Config } from '../config.js';
import { readUserIdentities, type UserIdentity } from './authorization-details.js';
import { fetchCredentialReport } from './credential-report.js';
import { listAccessKeys, readUserCredentials, withLastUse } from './per-user.js';
import type { AccessKeyRecord, Inventory, InventoryStrategy, UserRecord } from './types.js';

export interface InventoryDeps {
  clients: Pick<AwsClients, 'iam' | 'sts'>;
  /** The real clock: it paces polling. A simulated "now" belongs to the planner, not here. */
  clock: Clock;
}

export type InventorySettings = Config['inventory'];

/**
 * Reads one account's IAM users and their keys. Users outside the machine path are read too, so
 * their keys can be reported; deciding what is a machine user is the planner's job.
 */
export async function readInventory(
  deps: InventoryDeps,
  settings: InventorySettings,
  strategy: InventoryStrategy = settings.strategy,
): Promise<Inventory> {
  const { iam, sts } = deps.clients;
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const accountId = identity.Account ?? 'unknown';
  const identities = await readUserIdentities(iam);
  const collectedAt = deps.clock.now();
  const exactly = (user: UserIdentity) =>
    readUserCredentials(iam, user.userName).then((c) => ({ ...user, ...c }));

  if (strategy === 'exact') {
    const users = await mapLimit(identities, settings.concurrency, exactly);
    return {
      accountId,
      strategy,
      collectedAt,
      usersReadExactly: users.map((u) => u.userName),
      users: sortUsers(users),
    };
  }

  const report = await fetchCredentialReport(iam, {
    clock: deps.clock,
    timeoutMs: settings.reportTimeoutSeconds * 1000,
  });
  const rows = new Map(report.rows.map((row) => [row.userName, row]));
  // A user created after the report was generated has no row yet (IAM reuses a report for 4 hours):
  // read those few users exactly rather than report them as keyless.
  const missing = identities.filter((user) => !rows.has(user.userName));
  const readExactly = new Map(
    (await mapLimit(missing, settings.concurrency, exactly)).map((user) => [user.userName, user]),
  );
  const users: UserRecord[] = identities.map((user) => {
    const row = rows.get(user.userName);
    if (row === undefined) return readExactly.get(user.userName) as UserRecord;
    return { ...user, hasConsolePassword: row.passwordEnabled, keys: row.keys };
  });
  return {
    accountId,
    strategy,
    collectedAt,
    ...(report.generatedAt ? { reportGeneratedAt: report.generatedAt } : {}),
    usersReadExactly: missing.map((u) => u.userName),
    users: sortUsers(users),
  };
}

/**
 * Replaces the credential report's view of the named users' keys with IAM's live one, one
 * ListAccessKeys call each. The report can be up to 4 hours old: a key created or deleted since is
 * missing from it or still in it, and a slot's status may have changed. Acting on it could rotate a
 * user rotated this morning and meet IAM's two-key limit. Last use still comes from the report, from
 * the slot created in the same second (`last_rotated` is the key's creation date); a live key the
 * report can't vouch for (newer than the report, or an inactive key the report shows without a date)
 * is asked with GetAccessKeyLastUsed. Users already read live (exact strategy, or newer than the
 * report) are left as they are.
 */
export async function readLiveKeys(
  deps: InventoryDeps,
  inventory: Inventory,
  userNames: readonly string[],
  concurrency: number,
): Promise<Inventory> {
  const wanted = new Set(userNames);
  const readExactly = new Set(inventory.usersReadExactly);
  const targets = inventory.users.filter(
    (u) => inventory.strategy === 'report' && wanted.has(u.userName) && !readExactly.has(u.userName),
  );
  const live = new Map(
    await mapLimit(targets, concurrency, async (user) => {
      const listed = await listAccessKeys(deps.clients.iam, user.userName);
      return [user.userName, await withReportedUse(deps, user.keys, listed)] as const;
    }),
  );
  return {
    ...inventory,
    users: inventory.users.map((user) => {
      const keys = live.get(user.userName);
      return keys === undefined ? user : { ...user, keys };
    }),
  };
}

/** Live keys, each with the last use of the report slot created in the same second, else asked of IAM. */
async function withReportedUse(
  deps: InventoryDeps,
  reported: AccessKeyRecord[],
  listed: AccessKeyRecord[],
): Promise<AccessKeyRecord[]> {
  const second = (d: Date) => Math.floor(d.getTime() / 1000);
  const pool = reported.filter((k) => k.createdAtUnknown !== true);
  const keys: AccessKeyRecord[] = [];
  for (const key of listed) {
    const index = pool.findIndex((k) => second(k.createdAt) === second(key.createdAt));
    const [slot] = index < 0 ? [] : pool.splice(index, 1);
    if (slot === undefined) {
      keys.push(await withLastUse(deps.clients.iam, key));
      continue;
    }
    keys.push({
      ...key,
      ...(slot.lastUsedAt ? { lastUsedAt: slot.lastUsedAt } : {}),
      ...(slot.lastUsedService ? { lastUsedService: slot.lastUsedService } : {}),
    });
  }
  return keys;
}

function sortUsers<T extends { userName: string }>(users: T[]): T[] {
  return [...users].sort((a, b) => a.userName.localeCompare(b.userName));
}
