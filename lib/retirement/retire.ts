import { DeleteAccessKeyCommand, paginateListUsers, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import { type Clock, systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { listAccessKeys, withLastUse } from '../inventory/per-user.js';
import { isMachineUser } from '../policy/plan.js';
import { pathOfArn, secretNameFor } from '../rotation/driver.js';
import { describeSecret, type SecretSnapshot, STAGE, versionWith } from '../rotation/secret-state.js';
import { readCredential } from '../rotation/secret-value.js';
import type { RotationDeps } from '../rotation/steps.js';
import { planRetirement, type RetireDecision, type RetireKey, type RetireState } from './plan.js';
import { type RetirementSelection, readSelectionInventory, selectForRetirement } from './select.js';

/** Per-key lifecycle tags on the secret (IAM records neither time). */
export const LIFECYCLE_TAG = {
  deactivated: (keyId: string) => `keyrot:deactivated:${keyId}`,
  inactiveSeen: (keyId: string) => `keyrot:inactive-seen:${keyId}`,
};

export interface UserRetirement {
  userName: string;
  secretName: string;
  state: RetireState;
  decisions: RetireDecision[];
  /** The decisions carried out (empty on a dry run). */
  applied: RetireDecision[];
  /** Set when the secret changed under this run: nothing was changed, the next run decides again. */
  skipped?: string;
}

type Deps = Pick<RotationDeps, 'clients' | 'clock'>;

/** The key stored in a version, or undefined. */
async function keyIn(
  deps: Deps,
  secretId: string,
  versionId: string | undefined,
): Promise<string | undefined> {
  return (await readCredential(deps.clients.secrets, secretId, versionId))?.AccessKeyId;
}

function datesFromTags(tags: Record<string, string>, prefix: string): Record<string, Date> {
  const out: Record<string, Date> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(prefix)) continue;
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) out[key.slice(prefix.length)] = date;
  }
  return out;
}

/**
 * Reads what retirement decides from: the keys (with exact last use for every key the secret does not
 * hold), which keys the secret's versions hold, the cut-over of the current version and the lifecycle
 * tags. Undefined when the user has no keyrot secret (not onboarded: nothing to retire).
 */
export async function readRetireState(
  deps: Deps,
  config: Config,
  userName: string,
): Promise<{ state: RetireState; snapshot: SecretSnapshot } | undefined> {
  let snapshot: SecretSnapshot;
  try {
    snapshot = await describeSecret(deps.clients.secrets, secretNameFor(config, userName));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
  if (
    snapshot.userName !== userName ||
    !snapshot.userArn ||
    !isMachineUser({ path: pathOfArn(snapshot.userArn, userName) }, config.machinePath)
  ) {
    return undefined;
  }
  const currentVersion = versionWith(snapshot, STAGE.current);
  const pendingVersion = versionWith(snapshot, STAGE.pending);
  const currentKeyId = await keyIn(deps, snapshot.arn, currentVersion);
  const pendingKeyId =
    pendingVersion === currentVersion ? undefined : await keyIn(deps, snapshot.arn, pendingVersion);
  const previousKeyId = await keyIn(deps, snapshot.arn, versionWith(snapshot, STAGE.previous));
  const listed = await listAccessKeys(deps.clients.iam, userName);
  const keys: RetireKey[] = [];
  for (const key of listed) {
    const held = key.accessKeyId === currentKeyId || key.accessKeyId === pendingKeyId;
    const read = held ? key : await withLastUse(deps.clients.iam, key);
    keys.push({
      accessKeyId: read.accessKeyId ?? '',
      status: read.status,
      createdAt: read.createdAt,
      ...(read.lastUsedAt ? { lastUsedAt: read.lastUsedAt } : {}),
    });
  }
  const cutoverAt =
    snapshot.cutover && snapshot.cutover.versionId === currentVersion ? snapshot.cutover.at : undefined;
  const state: RetireState = {
    userName,
    keys,
    ...(currentKeyId ? { currentKeyId } : {}),
    ...(pendingKeyId ? { pendingKeyId } : {}),
    ...(previousKeyId ? { previousKeyId } : {}),
    ...(cutoverAt ? { cutoverAt } : {}),
    deactivatedAt: datesFromTags(snapshot.tags, 'keyrot:deactivated:'),
    inactiveSeenAt: datesFromTags(snapshot.tags, 'keyrot:inactive-seen:'),
  };
  return { state, snapshot };
}

/** Deactivates a key, recording when (tag first: a crash in between only delays deletion). */
export async function deactivateKey(
  deps: Deps,
  snapshot: SecretSnapshot,
  userName: string,
  keyId: string,
): Promise<void> {
  await deps.clients.secrets.send(
    new TagResourceCommand({
      SecretId: snapshot.arn,
      Tags: [{ Key: LIFECYCLE_TAG.deactivated(keyId), Value: deps.clock.now().toISOString() }],
    }),
  );
  await deps.clients.iam.send(
    new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: 'Inactive' }),
  );
}

/** Deletes a key, then its lifecycle records (a crash in between leaves records the next run forgets). */
export async function deleteRetiredKey(
  deps: Deps,
  snapshot: SecretSnapshot,
  userName: string,
  keyId: string,
): Promise<void> {
  try {
    await deps.clients.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: keyId }));
  } catch (error) {
    if (errorName(error) !== 'NoSuchEntity' && errorName(error) !== 'NoSuchEntityException') throw error;
  }
  await forgetKey(deps, snapshot, keyId);
}

export async function forgetKey(deps: Deps, snapshot: SecretSnapshot, keyId: string): Promise<void> {
  await deps.clients.secrets.send(
    new UntagResourceCommand({
      SecretId: snapshot.arn,
      TagKeys: [LIFECYCLE_TAG.deactivated(keyId), LIFECYCLE_TAG.inactiveSeen(keyId)],
    }),
  );
}

const CHANGES = new Set(['deactivate', 'delete', 'record-inactive', 'forget']);

/** Retires one machine user's replaced keys as of `now` (decides) and the clock (stamps). */
export async function retireUser(
  deps: Deps,
  config: Config,
  userName: string,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<UserRetirement | undefined> {
  const read = await readRetireState(deps, config, userName);
  if (read === undefined) return undefined;
  const { state, snapshot } = read;
  const decisions = planRetirement(state, config.policy, now);
  const result: UserRetirement = { userName, secretName: snapshot.name, state, decisions, applied: [] };
  const changes = decisions.filter((d) => CHANGES.has(d.kind));
  if (options.dryRun || changes.length === 0) return result;
  // The decisions rest on which keys the secret holds: make sure that has not moved since (a rotation
  // finishing, a rollback) before deactivating or deleting anything.
  const again = await describeSecret(deps.clients.secrets, snapshot.arn);
  for (const stage of [STAGE.current, STAGE.pending]) {
    if (versionWith(again, stage) !== versionWith(snapshot, stage)) {
      return {
        ...result,
        skipped: `${stage} moved while retiring; nothing was changed, the next run decides again`,
      };
    }
  }
  for (const decision of changes) {
    const id = decision.accessKeyId;
    if (decision.kind === 'deactivate') await deactivateKey(deps, snapshot, userName, id);
    if (decision.kind === 'delete') await deleteRetiredKey(deps, snapshot, userName, id);
    if (decision.kind === 'forget') await forgetKey(deps, snapshot, id);
    if (decision.kind === 'record-inactive') {
      await deps.clients.secrets.send(
        new TagResourceCommand({
          SecretId: snapshot.arn,
          Tags: [{ Key: LIFECYCLE_TAG.inactiveSeen(id), Value: deps.clock.now().toISOString() }],
        }),
      );
    }
    result.applied.push(decision);
  }
  return result;
}

/** The machine users of the account (IAM ListUsers under the machine path, pages of 1,000). */
export async function machineUserNames(deps: Deps, config: Config): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListUsers(
    { client: deps.clients.iam, pageSize: 1000 },
    { PathPrefix: config.machinePath },
  )) {
    for (const user of page.Users ?? []) if (user.UserName) names.push(user.UserName);
  }
  return names.sort();
}

type Retired = UserRetirement | { userName: string; error: unknown };

/**
 * Retires every managed machine user that may hold a replaced key; one user's failure does not stop
 * the others. Users are selected from the inventory first (see selectForRetirement), so the calls
 * grow with the keys being retired, not with the users that exist.
 */
export async function retireAccount(
  deps: Deps,
  config: Config,
  now: Date,
  options: { dryRun?: boolean; reportClock?: Clock } = {},
): Promise<{ selection: RetirementSelection; results: Retired[] }> {
  const machineUsers = await machineUserNames(deps, config);
  // IAM generates the credential report in real time: wait for it on a real clock, so the wait never
  // moves the (possibly simulated) clock that stamps lifecycle records.
  const reportDeps = { clients: deps.clients, clock: options.reportClock ?? systemClock };
  const inventory =
    machineUsers.length === 0
      ? { secrets: new Map(), reportRows: [] }
      : await readSelectionInventory(reportDeps, config);
  const selection = selectForRetirement({ machineUsers, ...inventory });
  const results: Retired[] = [];
  for (const { userName } of selection.selected) {
    try {
      const result = await retireUser(deps, config, userName, now, options);
      if (result) results.push(result);
    } catch (error) {
      results.push({ userName, error });
    }
  }
  return { selection, results };
}

/** retireAccount's results alone. */
export async function retireAll(deps: Deps, config: Config, now: Date, options: { dryRun?: boolean } = {}) {
  return (await retireAccount(deps, config, now, options)).results;
}
