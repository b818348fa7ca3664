import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import { mapLimit } from '../concurrency.js';
import type { Config } from '../config.js';
import { readUserIdentities, type UserIdentity } from './authorization-details.js';
import { fetchCredentialReport } from './credential-report.js';
import { listAccessKeys, readUserCredentials } from './per-user.js';
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
 * Fills in key ids for the named users (the credential report has slots, not ids) with one
 * ListAccessKeys call each. A report slot is matched to the listed key with the same creation time
 * (`last_rotated` is the key's creation date), to the second.
 */
export async function resolveKeyIds(
  deps: InventoryDeps,
  inventory: Inventory,
  userNames: readonly string[],
  concurrency: number,
): Promise<Inventory> {
  const wanted = new Set(userNames);
  const targets = inventory.users.filter(
    (u) => wanted.has(u.userName) && u.keys.some((k) => k.accessKeyId === undefined),
  );
  const listed = new Map(
    await mapLimit(
      targets,
      concurrency,
      async (u) => [u.userName, await listAccessKeys(deps.clients.iam, u.userName)] as const,
    ),
  );
  return {
    ...inventory,
    users: inventory.users.map((user) => {
      const keys = listed.get(user.userName);
      return keys === undefined ? user : { ...user, keys: matchKeys(user.keys, keys) };
    }),
  };
}

/** Each listed key is used once; among equal candidates, report slot order follows creation order. */
function matchKeys(keys: AccessKeyRecord[], listed: AccessKeyRecord[]): AccessKeyRecord[] {
  const second = (d: Date) => Math.floor(d.getTime() / 1000);
  const pool = [...listed];
  return keys.map((key) => {
    if (key.accessKeyId !== undefined) return key;
    const index = pool.findIndex(
      (k) => second(k.createdAt) === second(key.createdAt) && k.status === key.status,
    );
    const [match] = index < 0 ? [] : pool.splice(index, 1);
    return match?.accessKeyId ? { ...key, accessKeyId: match.accessKeyId } : key;
  });
}

function sortUsers<T extends { userName: string }>(users: T[]): T[] {
  return [...users].sort((a, b) => a.userName.localeCompare(b.userName));
}
