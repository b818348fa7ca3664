/**
 * The rotation steps' side of targets: setSecret pushes the pending key to every target of the user
 * (bounded concurrency) and records what each received on the secret; testSecret runs each target's
 * verify. Any target failing fails the step, so the rotation stops before finishSecret and the old key
 * stays current; a retry of the step pushes again (pushes are idempotent).
 */
import { mapLimit } from '../concurrency.js';
import { TargetError } from '../errors.js';
import { describeSecret, type SecretSnapshot } from '../secret/secret.js';
import type { SecretValue } from '../secret/value.js';
import { TargetFailure } from '../targets/failure.js';
import type { PushedCredential, Target, TargetContext, TargetLogger } from '../targets/port.js';
import {
  allRetryable,
  problemText,
  pushToTargets,
  type TargetProblem,
  verifyTargets,
} from '../targets/run.js';
import { readTargetRecords, recordTargets } from '../targets/state.js';
import type { RotationDeps } from './steps.js';

const quiet: TargetLogger = { info: () => {}, warn: () => {} };

export const credentialOf = (value: SecretValue): PushedCredential => ({
  userName: value.UserName,
  accessKeyId: value.AccessKeyId,
  secretAccessKey: value.SecretAccessKey,
});

function contextOf(value: SecretValue, versionId: string): TargetContext {
  const created = new Date(value.CreatedAt);
  return {
    userName: value.UserName,
    versionId,
    rotatedAt: Number.isNaN(created.getTime()) ? new Date(0) : created,
  };
}

/** The user's targets that are not disabled (a webhook that answered 410), and the disabled ones. */
async function activeTargets(
  deps: RotationDeps,
  secretId: string,
  userName: string,
  snapshot?: SecretSnapshot,
) {
  const all = deps.targetsFor(userName);
  if (all.length === 0) return { active: all, disabled: [] as Target[] };
  const tags = (snapshot ?? (await describeSecret(deps.clients.secrets, secretId))).tags;
  const records = readTargetRecords(tags);
  const disabled = all.filter((t) => records.get(t.name)?.state === 'disabled');
  return { active: all.filter((t) => !disabled.includes(t)), disabled };
}

/** setSecret's work: push `value` (version `versionId`) to every active target, record, fail on any failure. */
export async function pushToUserTargets(
  deps: RotationDeps,
  input: { secretId: string; versionId: string; userName: string; snapshot?: SecretSnapshot },
  value: SecretValue,
  what = 'the new key',
): Promise<void> {
  const logger = deps.logger ?? quiet;
  const { active, disabled } = await activeTargets(deps, input.secretId, input.userName, input.snapshot);
  for (const target of disabled)
    logger.warn('target disabled; not pushed to', { user: input.userName, target: target.describe() });
  // Every target disabled: nothing is pushed, so nothing is recorded (recordTargets writes no record).
  const report = await pushToTargets(
    active,
    credentialOf(value),
    contextOf(value, input.versionId),
    deps.settings.targetConcurrency ?? 8,
    () => deps.clock.now(),
  );
  await recordTargets(deps.clients.secrets, input.secretId, report.records);
  for (const { target, reason } of report.disabled)
    logger.warn('target disabled', { user: input.userName, target: target.describe(), reason });
  for (const record of report.records)
    if (record.state === 'received')
      logger.info('target received key', {
        user: input.userName,
        target: record.name,
        accessKeyId: record.accessKeyId,
      });
  if (nonEmpty(report.failures))
    throw failed(`Pushing ${what} of ${input.userName}`, input.userName, active.length, report.failures);
}

/** testSecret's work: every active target proves it holds the key. */
export async function verifyUserTargets(
  deps: RotationDeps,
  input: { secretId: string; versionId: string },
  value: SecretValue,
): Promise<void> {
  // Read afresh: setSecret may have disabled a target since the caller's snapshot. A user without
  // targets reads nothing (activeTargets).
  const { active } = await activeTargets(deps, input.secretId, value.UserName);
  const failures = await verifyTargets(
    active,
    credentialOf(value),
    contextOf(value, input.versionId),
    deps.settings.targetConcurrency ?? 8,
  );
  if (nonEmpty(failures))
    throw failed(`Verifying the new key of ${value.UserName}`, value.UserName, active.length, failures);
}

/** A redeploy that failed: the target, the key it holds, and why. */
export interface RedeployFailure {
  targetType: string;
  targetName: string;
  accessKeyId: string;
  error: unknown;
}

/**
 * After the cut-over: each target with a `redeploy` setting that received this version asks its
 * consumer to pick the key up (a workflow run, a pipeline), at most `targetConcurrency` at once. A
 * failure is logged and returned, never thrown: the key is stored in the target and current, so the
 * rotation stands; the caller alerts (`redeploy-failed`).
 */
export async function redeployUserTargets(
  deps: RotationDeps,
  input: { userName: string; versionId: string; snapshot: SecretSnapshot },
): Promise<RedeployFailure[]> {
  const logger = deps.logger ?? quiet;
  const records = readTargetRecords(input.snapshot.tags);
  const due = deps.targetsFor(input.userName).flatMap((target) => {
    const record = records.get(target.name);
    return target.redeploy && record?.state === 'received' && record.versionId === input.versionId
      ? [{ target, redeploy: target.redeploy, accessKeyId: record.accessKeyId }]
      : [];
  });
  const failures: RedeployFailure[] = [];
  await mapLimit(due, deps.settings.targetConcurrency ?? 8, async ({ target, redeploy, accessKeyId }) => {
    const about = { user: input.userName, target: target.name, type: target.type, accessKeyId };
    try {
      await redeploy.call(target, { userName: input.userName, versionId: input.versionId });
      logger.info('redeploy triggered', about);
    } catch (error) {
      failures.push({ targetType: target.type, targetName: target.name, accessKeyId, error });
      logger.warn('redeploy failed; the new key stays current', { ...about, reason: problemText(error) });
    }
  });
  return failures;
}

const nonEmpty = <T>(list: readonly T[]): list is readonly [T, ...T[]] => list.length > 0;

function failed(
  doing: string,
  userName: string,
  total: number,
  failures: readonly [TargetProblem, ...TargetProblem[]],
): TargetError {
  const [first] = failures;
  const lines = failures
    .map((f) =>
      f.error instanceof TargetFailure
        ? `  - ${f.error.message}`
        : `  - ${f.target.type} target "${f.target.name}": ${problemText(f.error)}`,
    )
    .join('\n');
  const next = allRetryable(failures)
    ? 'The rotation is retried.'
    : `Fix this, then run keyrot rotate --user ${userName}: it resumes this rotation and pushes again.`;
  return new TargetError(
    `${doing} failed for ${failures.length} of ${total} target${total === 1 ? '' : 's'}; the old key stays current. ${next}\n${lines}`,
    { cause: first.error, target: { type: first.target.type, name: first.target.name } },
  );
}
