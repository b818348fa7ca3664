import { paginateListUsers } from '@aws-sdk/client-iam';
import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { BrokenUserError, KeyGuardError } from '../errors.js';
import { withLastUse } from '../inventory/per-user.js';
import { isMachineUser } from '../policy/plan.js';
import type { RotationDeps } from '../rotation/steps.js';
import { changeKey, forgetKey } from '../secret/guard.js';
import {
  datesFromTags,
  describeSecret,
  LIFECYCLE_TAG,
  type SecretSnapshot,
  STAGE,
  versionWith,
} from '../secret/secret.js';
import { type Broken, type IamUser, keyIdOf, type ManagedUser, readManagedUser } from '../secret/state.js';
import { planRetirement, type RetireDecision, type RetireKey, type RetireState } from './plan.js';

export interface UserRetirement {
  userName: string;
  secretName: string;
  state: RetireState;
  decisions: RetireDecision[];
  /** The decisions carried out (empty on a dry run). */
  applied: RetireDecision[];
  /** Decisions the key guard refused when it re-read IAM and the secret, with its reason. */
  refused?: Array<{ decision: RetireDecision; reason: string }>;
  /** Set when the secret changed under this run: nothing was changed, the next run decides again. */
  skipped?: string;
  /** The user has no working current key: nothing of it was changed. */
  broken?: Broken;
}

type Deps = Pick<RotationDeps, 'clients' | 'clock'>;

/**
 * Reads what retirement decides from: the keys (with exact last use for every key no stage holds),
 * which keys the secret's stages hold, the cut-over of the current version and the lifecycle tags.
 * Undefined when the user has no keyrot secret (not onboarded: nothing to retire). The user comes from
 * IAM; a secret whose tags disagree with IAM is refused (NotManagedError).
 */
export async function readRetireState(
  deps: Deps,
  config: Config,
  user: string | IamUser,
): Promise<{ state: RetireState; snapshot: SecretSnapshot; managed: ManagedUser } | undefined> {
  const userName = typeof user === 'string' ? user : user.userName;
  const managed = await readManagedUser(deps, config, userName, typeof user === 'string' ? undefined : user);
  if (managed === undefined) return undefined;
  const { snapshot, stages } = managed;
  const currentKeyId = keyIdOf(stages.current);
  const pendingKeyId =
    stages.pending?.versionId === stages.current?.versionId ? undefined : keyIdOf(stages.pending);
  const previousKeyId = keyIdOf(stages.previous);
  const keys: RetireKey[] = [];
  for (const key of managed.keys) {
    const held = key.accessKeyId === currentKeyId || key.accessKeyId === pendingKeyId;
    const read = held ? key : await withLastUse(deps.clients.iam, key);
    keys.push({
      accessKeyId: read.accessKeyId ?? '',
      status: read.status,
      createdAt: read.createdAt,
      ...(read.lastUsedAt ? { lastUsedAt: read.lastUsedAt } : {}),
    });
  }
  const currentVersion = stages.current?.versionId;
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
  return { state, snapshot, managed };
}

const CHANGES = new Set(['deactivate', 'delete', 'record-inactive', 'forget']);

/** Retires one machine user's replaced keys as of `now` (decides) and the clock (stamps). */
export async function retireUser(
  deps: Deps,
  config: Config,
  user: string | IamUser,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<UserRetirement | undefined> {
  const read = await readRetireState(deps, config, user);
  if (read === undefined) return undefined;
  const { state, snapshot, managed } = read;
  const { userName } = state;
  const decisions = planRetirement(state, config.policy, now);
  const result: UserRetirement = {
    userName,
    secretName: snapshot.name,
    state,
    decisions,
    applied: [],
  };
  if (managed.broken) return { ...result, broken: managed.broken };
  const changes = decisions.filter((d) => CHANGES.has(d.kind));
  if (options.dryRun || changes.length === 0) return result;
  // The decisions rest on which keys the secret holds: make sure that has not moved since (a rotation
  // finishing, a rollback) before changing anything. The key guard checks again before each change.
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
    try {
      if (decision.kind === 'deactivate' || decision.kind === 'delete') {
        await changeKey(deps, config.policy, {
          userName,
          secretId: snapshot.arn,
          accessKeyId: id,
          change: decision.kind,
          purpose: 'retire',
          now,
        });
      }
    } catch (error) {
      if (error instanceof BrokenUserError) {
        // The user broke under this run (a hand edit): stop touching it.
        return { ...result, broken: error.broken as Broken };
      }
      if (!(error instanceof KeyGuardError)) throw error;
      result.refused = [...(result.refused ?? []), { decision, reason: error.message }];
      continue;
    }
    if (decision.kind === 'forget') await forgetKey(deps.clients.secrets, snapshot.arn, id);
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

/** The machine users of the account as IAM lists them (ListUsers under the machine path, paginated). */
export async function machineUsers(deps: Deps, config: Config): Promise<IamUser[]> {
  const users: IamUser[] = [];
  for await (const page of paginateListUsers(
    { client: deps.clients.iam, pageSize: 100 },
    { PathPrefix: config.machinePath },
  )) {
    for (const user of page.Users ?? []) {
      if (!user.UserName) continue;
      const found = { userName: user.UserName, arn: user.Arn ?? '', path: user.Path ?? '/' };
      // PathPrefix is a string prefix (/machine matches /machines/): keep exactly the machine path.
      if (isMachineUser(found, config.machinePath)) users.push(found);
    }
  }
  return users.sort((a, b) => a.userName.localeCompare(b.userName));
}

export async function machineUserNames(deps: Deps, config: Config): Promise<string[]> {
  return (await machineUsers(deps, config)).map((u) => u.userName);
}

/** Retires every managed machine user; one user's failure does not stop the others. */
export async function retireAll(deps: Deps, config: Config, now: Date, options: { dryRun?: boolean } = {}) {
  const results: Array<UserRetirement | { userName: string; error: unknown }> = [];
  for (const user of await machineUsers(deps, config)) {
    try {
      const result = await retireUser(deps, config, user, now, options);
      if (result) results.push(result);
    } catch (error) {
      results.push({ userName: user.userName, error });
    }
  }
  return results;
}
