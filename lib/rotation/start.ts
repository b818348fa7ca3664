import {
  CreateSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import { mapLimit } from '../concurrency.js';
import type { Config } from '../config.js';
import type { Plan, PlannedAction } from '../policy/plan.js';
import { createSecretInput, describeSecret, type SecretSnapshot, secretNameFor } from '../secret/secret.js';
import { unfinishedRotation } from './stuck.js';

export type StartOutcome =
  | 'started'
  | 'onboarded'
  /** An unfinished rotation holds the secret (AWSPENDING on a version that is not current). */
  | 'in-progress'
  /** ...and has for `rotation.stuckAfterHours`: a person must finish or restart it. */
  | 'stuck'
  /** The secret was cut over after the key data was read: the plan can't see the new key. */
  | 'recently-rotated'
  /** Over `rotation.maxStartsPerRun`: starts on a later run. */
  | 'queued'
  | 'failed';

export interface StartResult {
  userName: string;
  secretName: string;
  outcome: StartOutcome;
  error?: string;
  /** Why it was not started (in-progress, recently-rotated, queued). */
  detail?: string;
}

/** When the key data the plan was made from was read: the credential report's time, else live. */
export interface KeyDataAge {
  /** The credential report's GeneratedTime (report strategy). */
  reportGeneratedAt?: Date;
  /** When the inventory was read. */
  collectedAt: Date;
}

/**
 * The plan's rotations in the order they start: the most overdue key first (oldest creation), then
 * by user name, so a burst is worked off oldest first and every run picks the same users.
 */
export function rotationQueue(plan: Plan): PlannedAction[] {
  const users = new Map(plan.users.map((u) => [u.userName, u]));
  const created = (action: PlannedAction) =>
    users
      .get(action.userName)
      ?.keys.find((k) => k.key.accessKeyId === action.key?.accessKeyId && k.key.slot === action.key?.slot)
      ?.createdAt.getTime() ?? Number.POSITIVE_INFINITY;
  return plan.actions
    .filter((a) => a.kind === 'rotate' && users.get(a.userName)?.isMachineUser)
    .sort((a, b) => created(a) - created(b) || a.userName.localeCompare(b.userName));
}

/**
 * Asks Secrets Manager to rotate the machine users the plan marks for rotation, at most
 * `rotation.maxStartsPerRun` of them, most overdue first; the rest are reported as queued and start
 * on later runs. Secrets Manager then serializes and retries each rotation, invoking the rotate
 * function. A user without a secret is onboarded: its secret is created, tagged with the user, then
 * rotated with rotation configured. Before starting, the secret is checked: an unfinished rotation
 * (AWSPENDING on a version that isn't current) or a cut-over after the key data was read means the
 * plan is out of date for that user, so it is not started. Starts run `rotation.startConcurrency` at a
 * time; each RotateSecret has Secrets Manager invoke the rotate function. One user's failure does not
 * stop the others.
 */
export async function startRotations(
  secrets: SecretsManagerClient,
  plan: Plan,
  config: Config,
  rotateFunctionArn: string,
  keyData: KeyDataAge = { collectedAt: plan.now },
): Promise<StartResult[]> {
  const users = new Map(plan.users.map((u) => [u.userName, u]));
  const rotation = {
    RotationLambdaARN: rotateFunctionArn,
    RotationRules: { AutomaticallyAfterDays: config.policy.maxKeyAgeDays },
  };
  const max = config.rotation.maxStartsPerRun;
  const dataAsOf = keyData.reportGeneratedAt ?? keyData.collectedAt;
  const startOne = async (userName: string): Promise<StartResult> => {
    const secretName = secretNameFor(config, userName);
    try {
      let snapshot: SecretSnapshot | undefined;
      try {
        snapshot = await describeSecret(secrets, secretName);
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      const skip =
        snapshot && (await outOfDate(secrets, snapshot, dataAsOf, plan.now, config.rotation.stuckAfterHours));
      if (skip) return { userName, secretName, ...skip };
      if (snapshot === undefined) {
        await secrets.send(
          new CreateSecretCommand(createSecretInput(config, userName, users.get(userName)?.arn ?? '')),
        );
      }
      await secrets.send(
        new RotateSecretCommand({
          SecretId: secretName,
          ...(snapshot?.rotationEnabled ? {} : rotation),
        }),
      );
      return { userName, secretName, outcome: snapshot ? 'started' : 'onboarded' };
    } catch (error) {
      // Secrets Manager refuses a second rotation while one is unfinished; it retries that one itself.
      const inProgress =
        errorName(error) === 'InvalidRequestException' &&
        /previous rotation/i.test(String((error as Error).message));
      return {
        userName,
        secretName,
        outcome: inProgress ? 'in-progress' : 'failed',
        ...(inProgress ? {} : { error: `${errorName(error) ?? 'Error'}: ${(error as Error).message}` }),
      };
    }
  };
  // Waves: each takes as many users, in queue order, as starts are left, and runs them
  // `rotation.startConcurrency` at a time. A user that was not started (in progress, failed, ...) frees
  // its start for the next wave. So the same users start as one at a time would start, oldest first,
  // and never more than maxStartsPerRun, even with starts in flight together.
  const queue = rotationQueue(plan).map((a) => a.userName);
  const results: StartResult[] = [];
  let started = 0;
  let next = 0;
  while (next < queue.length && started < max) {
    const wave = queue.slice(next, next + (max - started));
    next += wave.length;
    const done = await mapLimit(wave, config.rotation.startConcurrency, startOne);
    started += done.filter((r) => r.outcome === 'started' || r.outcome === 'onboarded').length;
    results.push(...done);
  }
  for (const userName of queue.slice(next)) {
    results.push({
      userName,
      secretName: secretNameFor(config, userName),
      outcome: 'queued',
      detail: `rotation.maxStartsPerRun (${max}) rotations start per run; this one starts on a later run`,
    });
  }
  return results;
}

/** Why the plan is out of date for this secret's user, if it is. */
async function outOfDate(
  secrets: SecretsManagerClient,
  snapshot: SecretSnapshot,
  dataAsOf: Date,
  now: Date,
  stuckAfterHours: number,
): Promise<Pick<StartResult, 'outcome' | 'detail'> | undefined> {
  const unfinished = await unfinishedRotation(secrets, snapshot, now, stuckAfterHours);
  if (unfinished?.stuck) {
    const user = snapshot.userName ?? snapshot.name;
    return {
      outcome: 'stuck',
      detail: `the rotation started ${unfinished.since?.toISOString()} (AWSPENDING version ${unfinished.versionId}) has not finished in ${stuckAfterHours} hours (rotation.stuckAfterHours); read the rotate function's log, fix the cause, then run \`keyrot rotate --user ${user}\` to finish it or \`keyrot rotate --user ${user} --restart\` to start over`,
    };
  }
  if (unfinished !== undefined) {
    return {
      outcome: 'in-progress',
      detail: `an unfinished rotation holds the secret (AWSPENDING version ${unfinished.versionId})`,
    };
  }
  // The credential report is reused for up to 4 hours: a key made by a rotation since can't be in it.
  const cutover = snapshot.cutover?.at;
  if (cutover !== undefined && cutover.getTime() >= dataAsOf.getTime()) {
    return {
      outcome: 'recently-rotated',
      detail: `rotated at ${cutover.toISOString()}, after the key data was read (${dataAsOf.toISOString()})`,
    };
  }
  return undefined;
}
