import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  PutSecretValueCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../aws/clients.js';
import { errorName } from '../aws/errors.js';
import type { Clock } from '../clock.js';
import {
  KeyGuardError,
  KeyLimitError,
  KeyrotError,
  KeyTestError,
  NotManagedError,
  RotationInProgressError,
} from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import type { AccessKeyRecord } from '../inventory/types.js';
import { type ChangePurpose, changeKey, type GuardPolicy } from '../secret/guard.js';
import {
  describeSecret,
  formatIntent,
  type SecretSnapshot,
  STAGE,
  TAG,
  versionWith,
} from '../secret/secret.js';
import { keyIdOf, readStages, type StageReads } from '../secret/state.js';
import { formatSecretValue, readCredential, type SecretValue } from '../secret/value.js';
import type { Target, TargetLogger } from '../targets/port.js';
import {
  pushToUserTargets,
  type RedeployFailure,
  redeployUserTargets,
  verifyUserTargets,
} from './targets.js';

export interface RotationDeps {
  clients: Pick<AwsClients, 'iam' | 'secrets' | 'stsWith'>;
  /** The real clock: it stamps intents and cut-overs and paces polling. */
  clock: Clock;
  targetsFor(userName: string): readonly Target[];
  settings: {
    propagationTimeoutMs: number;
    abandonAfterMs: number;
    targetConcurrency?: number;
  } & GuardPolicy;
  logger?: TargetLogger;
}

/** One step's input: what Secrets Manager sends, plus what a local driver already knows. */
export interface StepInput {
  secretId: string;
  token: string;
  /** A fresh DescribeSecret of the secret; read when absent. */
  snapshot?: SecretSnapshot;
  /** The pending value, when the caller holds it from createSecret; read when absent. */
  pending?: SecretValue;
}

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type StepName = (typeof STEPS)[number];

function userOf(snapshot: SecretSnapshot): string {
  if (!snapshot.userName) {
    throw new NotManagedError(
      `Secret ${snapshot.name} has no "${TAG.user}" tag, so it is not a keyrot secret.`,
    );
  }
  return snapshot.userName;
}

/** A stored version's value, or undefined when the version has no value (or does not exist). */
function readValue(
  deps: RotationDeps,
  secretId: string,
  versionId: string,
): Promise<SecretValue | undefined> {
  return readCredential(deps.clients.secrets, secretId, versionId);
}

export interface CreateResult {
  value: SecretValue;
  created: boolean;
  /** Inactive keys deleted to make room for the new key (said in the output and logged). */
  deletedForRoom: string[];
  /** Keys of a crashed attempt that were never stored, deleted. */
  orphansDeleted: string[];
}

/**
 * createSecret: make sure a new key for the user is stored as AWSPENDING under `token`.
 * Idempotent: a stored version for the token is returned as it is. Otherwise, in order:
 * 1. keys created by an earlier attempt that never stored them (not among the keys its intent knew,
 *    held by no version, never used) are deleted once that attempt is older than `abandonAfterMs`;
 *    before that, another attempt may still be running, so this one stops with RotationInProgressError;
 * 2. room is made: with two keys, only an inactive key held by no stage, unused within the idle window
 *    and not a rollback reserve may be deleted (the key guard decides); otherwise KeyLimitError;
 * 3. the intent (token, time, the keys that exist) is tagged on the secret, then the key is created
 *    and stored at once. Only one writer can store a value under a token; a loser deletes the key it
 *    just made (never stored, so never seen) and reports that a rotation is in progress.
 */
export async function createSecret(deps: RotationDeps, input: StepInput): Promise<CreateResult> {
  const { iam, secrets } = deps.clients;
  const snapshot = input.snapshot ?? (await describeSecret(secrets, input.secretId));
  const userName = userOf(snapshot);
  const result: CreateResult = {
    value: undefined as unknown as SecretValue,
    created: false,
    deletedForRoom: [],
    orphansDeleted: [],
  };
  if (snapshot.versions.has(input.token)) {
    const stored = await readValue(deps, snapshot.arn, input.token);
    if (stored) return { ...result, value: stored };
  }

  let keys = await listAccessKeys(iam, userName);
  const intent = snapshot.intent;
  if (intent && snapshot.cutover?.versionId !== intent.token) {
    const unexplained = keys.filter((k) => !intent.knownKeyIds.includes(k.accessKeyId));
    const held = heldKeyIds(await readStages(secrets, snapshot));
    const candidates = unexplained.filter((k) => !held.has(k.accessKeyId));
    const age = deps.clock.now().getTime() - intent.at.getTime();
    if (candidates.length > 0 && age < deps.settings.abandonAfterMs) {
      throw new RotationInProgressError(
        `A rotation of ${userName} is in progress: key ${candidates.map((k) => k.accessKeyId).join(', ')} was created ${Math.round(age / 1000)} s ago and is not stored yet. If that attempt crashed, keyrot deletes the key once the attempt is ${Math.round(deps.settings.abandonAfterMs / 60_000)} minutes old; run again then.`,
      );
    }
    for (const candidate of candidates) {
      const id = candidate.accessKeyId;
      try {
        const outcome = await guardedDelete(deps, snapshot.arn, userName, id, 'orphan');
        if (outcome.changed) result.orphansDeleted.push(id);
      } catch (error) {
        // Not an orphan after all (used, or held by a version): it stays, and counts as a key.
        if (!(error instanceof KeyGuardError)) throw error;
      }
    }
    if (result.orphansDeleted.length > 0) keys = await listAccessKeys(iam, userName);
  }

  if (keys.length >= 2) {
    const removed = await makeRoom(deps, snapshot, userName, keys);
    result.deletedForRoom.push(removed.accessKeyId ?? '');
    keys = keys.filter((k) => k !== removed);
  }

  await secrets.send(
    new TagResourceCommand({
      SecretId: snapshot.arn,
      Tags: [
        {
          Key: TAG.intent,
          Value: formatIntent({
            token: input.token,
            at: deps.clock.now(),
            knownKeyIds: keys.map((k) => k.accessKeyId),
          }),
        },
      ],
    }),
  );
  const created = await createKey(deps, userName, keys);
  const value: SecretValue = {
    Version: 1,
    AccessKeyId: created.AccessKeyId,
    SecretAccessKey: created.SecretAccessKey,
    UserName: userName,
    CreatedAt: deps.clock.now().toISOString(),
  };
  const lost = async (why: string, cause?: unknown) => {
    // This key was never stored, so nobody can hold it: it goes at once.
    try {
      await guardedDelete(deps, snapshot.arn, userName, value.AccessKeyId, 'orphan', true);
    } catch (error) {
      // Refused (it is somehow held or used): it stays, and a later attempt's clean-up decides.
      if (!(error instanceof KeyGuardError)) throw error;
    }
    return new RotationInProgressError(`A rotation of ${userName} is in progress: ${why}.`, { cause });
  };
  try {
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: snapshot.arn,
        ClientRequestToken: input.token,
        SecretString: formatSecretValue(value),
        VersionStages: [STAGE.pending],
      }),
    );
  } catch (error) {
    if (errorName(error) === 'ResourceExistsException')
      throw await lost('another process stored its new key first', error);
    throw error;
  }
  // Read back what the token's version holds: the value is what every later step and consumer uses.
  // (Secrets Manager refuses a second value under a token, API reference, PutSecretValue; moto 5.2.1
  // lets it overwrite an AWSPENDING version: see test/helpers/moto-scoped-auth/rotation_shape.py.)
  const stored = await readValue(deps, snapshot.arn, input.token);
  if (stored?.AccessKeyId !== value.AccessKeyId)
    throw await lost('another process stored its new key under the same token');
  return { ...result, value, created: true };
}

/** Key ids held by AWSCURRENT, AWSPENDING or AWSPREVIOUS. */
function heldKeyIds(stages: StageReads): Set<string> {
  return new Set(
    [keyIdOf(stages.current), keyIdOf(stages.pending), keyIdOf(stages.previous)].filter(
      (id): id is string => id !== undefined,
    ),
  );
}

function guardedDelete(
  deps: RotationDeps,
  secretId: string,
  userName: string,
  accessKeyId: string,
  purpose: ChangePurpose,
  ownAttempt = false,
) {
  return changeKey(deps, deps.settings, {
    userName,
    secretId,
    accessKeyId,
    change: 'delete',
    purpose,
    now: deps.clock.now(),
    ...(ownAttempt ? { ownAttempt } : {}),
  });
}

/** Thrown inside the SDK's retry loop so that an ambiguous CreateAccessKey failure is not retried. */
class KeyCreationUnknown extends Error {
  constructor(readonly original: unknown) {
    super('CreateAccessKey failed without saying whether it created a key');
    this.name = 'KeyCreationUnknown';
  }
}

/**
 * CreateAccessKey is not idempotent: if its answer is lost (a reset connection, a timeout, a 5xx),
 * a blind retry may make a second key. So such a failure is never retried by the SDK. keyrot lists
 * the user's keys instead: no new key means nothing was made and it may safely try again; a new key
 * it has no secret for is left to the abandoned-attempt rule (it may also be another process's).
 */
async function createKey(deps: RotationDeps, userName: string, before: AccessKeyRecord[]) {
  for (let attempt = 1; ; attempt++) {
    const command = new CreateAccessKeyCommand({ UserName: userName });
    command.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          const answered = status !== undefined && status < 500;
          throw answered ? error : new KeyCreationUnknown(error);
        }
      },
      { step: 'finalizeRequest', name: 'keyCreationIsNotIdempotent', priority: 'low' },
    );
    try {
      const { AccessKey: key } = await deps.clients.iam.send(command);
      if (!key?.AccessKeyId || !key.SecretAccessKey)
        throw new KeyrotError(`IAM returned no key for ${userName}.`);
      return { AccessKeyId: key.AccessKeyId, SecretAccessKey: key.SecretAccessKey };
    } catch (error) {
      if (errorName(error) === 'LimitExceeded' || errorName(error) === 'LimitExceededException') {
        throw new RotationInProgressError(
          `A rotation of ${userName} is in progress: another process created a key just now.`,
          {
            cause: error,
          },
        );
      }
      if (!(error instanceof KeyCreationUnknown)) throw error;
      const known = new Set(before.map((k) => k.accessKeyId));
      const appeared = (await listAccessKeys(deps.clients.iam, userName)).filter(
        (k) => !known.has(k.accessKeyId),
      );
      if (appeared.length > 0) {
        throw new RotationInProgressError(
          `CreateAccessKey for ${userName} failed without an answer, and key ${appeared.map((k) => k.accessKeyId).join(', ')} appeared. keyrot has no secret for it, so it is deleted once this attempt is ${Math.round(deps.settings.abandonAfterMs / 60_000)} minutes old; run again then.`,
          { cause: error.original },
        );
      }
      if (attempt >= 3) throw error.original;
    }
  }
}

/**
 * Deletes one inactive key so the rotation has a free slot. The key guard decides: never a key a
 * stage holds, a key used within the idle window, or a rollback reserve. Refused: KeyLimitError.
 */
async function makeRoom(
  deps: RotationDeps,
  snapshot: SecretSnapshot,
  userName: string,
  keys: AccessKeyRecord[],
): Promise<AccessKeyRecord> {
  const inactive = keys.filter((k) => k.status === 'Inactive');
  const reasons: string[] = [];
  for (const key of inactive) {
    try {
      await guardedDelete(deps, snapshot.arn, userName, key.accessKeyId ?? '', 'make-room');
      return key;
    } catch (error) {
      if (!(error instanceof KeyGuardError)) throw error;
      reasons.push(error.message);
    }
  }
  const described = keys.map((k) => `${k.accessKeyId} (${k.status})`).join(' and ');
  throw new KeyLimitError(
    `${userName} has no free key slot: ${described}. ${reasons.length > 0 ? reasons.join(' ') : 'keyrot only deletes an inactive key to make room, and both are active. Retire the previous key first (keyrot retire deactivates it once nothing uses it), then rotate again.'}`,
  );
}

async function pendingValue(deps: RotationDeps, input: StepInput): Promise<SecretValue> {
  if (input.pending) return input.pending;
  const value = await readValue(deps, input.secretId, input.token);
  if (value === undefined)
    throw new KeyrotError(
      `Version ${input.token} of ${input.secretId} has no value; run createSecret first.`,
    );
  return value;
}

/**
 * setSecret: push the pending key to every target of the user (at most `targetConcurrency` at once)
 * and record on the secret what each received. Any failure fails the step. No targets: nothing.
 */
export async function setSecret(deps: RotationDeps, input: StepInput & { userName: string }): Promise<void> {
  if (deps.targetsFor(input.userName).length === 0) return;
  await pushToUserTargets(
    deps,
    {
      secretId: input.secretId,
      versionId: input.token,
      userName: input.userName,
      ...(input.snapshot ? { snapshot: input.snapshot } : {}),
    },
    await pendingValue(deps, input),
  );
}

/**
 * testSecret: sts:GetCallerIdentity signed with the pending key must return the user's ARN. IAM is
 * eventually consistent, so a new key may be refused for a while: the call is retried with backoff
 * until `propagationTimeoutMs`. Then each target verifies it holds the key.
 */
export async function testSecret(
  deps: RotationDeps,
  input: StepInput & { userArn: string },
): Promise<{ attempts: number }> {
  const value = await pendingValue(deps, input);
  const sts = deps.clients.stsWith({
    accessKeyId: value.AccessKeyId,
    secretAccessKey: value.SecretAccessKey,
  });
  const deadline = deps.clock.now().getTime() + deps.settings.propagationTimeoutMs;
  let wait = 1_000;
  let attempts = 0;
  let last = '';
  try {
    for (;;) {
      attempts++;
      try {
        const identity = await sts.send(new GetCallerIdentityCommand({}));
        if (identity.Arn === input.userArn) break;
        last = `it authenticated as ${identity.Arn ?? 'nobody'}`;
      } catch (error) {
        // A new key is refused (InvalidClientTokenId, ...) until IAM has propagated it; ride that out,
        // and network trouble. Anything else is not about propagation.
        if (!isAwsOrNetworkError(error)) throw error;
        last = describe(error);
      }
      if (deps.clock.now().getTime() + wait > deadline) {
        throw new KeyTestError(
          `The new key ${value.AccessKeyId} did not authenticate as ${input.userArn} within ${Math.round(deps.settings.propagationTimeoutMs / 1000)} s (${attempts} attempts; last: ${last}). The old key stays current; the rotation is retried.`,
        );
      }
      await deps.clock.sleep(wait);
      wait = Math.min(wait * 2, 16_000);
    }
  } finally {
    sts.destroy();
  }
  await verifyUserTargets(deps, { secretId: input.secretId, versionId: input.token }, value);
  return { attempts };
}

/**
 * finishSecret: move AWSCURRENT to the token's version (Secrets Manager moves AWSPREVIOUS along),
 * trigger the redeploys of the targets that have one, and record the cut-over on the secret. Already
 * current: only the cut-over record is made sure of (a retry after a crash before it redeploys again:
 * at least once). A failed redeploy is returned, never thrown: the new key is current and stored.
 */
export async function finishSecret(
  deps: RotationDeps,
  input: StepInput,
): Promise<{ moved: boolean; redeployFailures: RedeployFailure[] }> {
  const { secrets } = deps.clients;
  let snapshot = input.snapshot ?? (await describeSecret(secrets, input.secretId));
  let moved = false;
  if (versionWith(snapshot, STAGE.current) !== input.token) {
    if (!snapshot.versions.get(input.token)?.includes(STAGE.pending)) {
      throw new KeyrotError(
        `Version ${input.token} of ${snapshot.name} is not AWSPENDING, so it can't be made current.`,
      );
    }
    const current = versionWith(snapshot, STAGE.current);
    try {
      await secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: snapshot.arn,
          VersionStage: STAGE.current,
          MoveToVersionId: input.token,
          ...(current ? { RemoveFromVersionId: current } : {}),
        }),
      );
      moved = true;
    } catch (error) {
      // RemoveFromVersionId was stale: another driver finished this rotation first. Look again.
      if (errorName(error) !== 'InvalidParameterException') throw error;
      snapshot = await describeSecret(secrets, snapshot.arn);
      if (versionWith(snapshot, STAGE.current) !== input.token) throw error;
    }
  }
  let redeployFailures: RedeployFailure[] = [];
  if (snapshot.cutover?.versionId !== input.token || moved) {
    if (snapshot.userName)
      redeployFailures = await redeployUserTargets(deps, {
        userName: snapshot.userName,
        versionId: input.token,
        snapshot,
      });
    await secrets.send(
      new TagResourceCommand({
        SecretId: snapshot.arn,
        Tags: [{ Key: TAG.cutover, Value: `${input.token} ${deps.clock.now().toISOString()}` }],
      }),
    );
  }
  return { moved, redeployFailures };
}

function isAwsOrNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const shape = error as { $metadata?: unknown; code?: string };
  return shape.$metadata !== undefined || error.name === 'TimeoutError' || /^E[A-Z]+$/.test(shape.code ?? '');
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${errorName(error) ?? error.name}: ${error.message}`;
  return String(error);
}
