import { mapLimit } from '../concurrency.js';
import type { TargetView } from './drift.js';
import { TargetFailure } from './failure.js';
import type { PushedCredential, Target, TargetContext } from './port.js';
import type { TargetRecord } from './state.js';

export interface TargetProblem {
  target: Target;
  error: unknown;
}

export interface PushReport {
  /** Records to write: what each target received, or that it was disabled. */
  records: TargetRecord[];
  disabled: Array<{ target: Target; reason: string }>;
  failures: TargetProblem[];
}

/**
 * Pushes to every target, at most `concurrency` at once. Every target is tried, whatever the others
 * do, so one retry of the step can finish them all; the caller fails the step if any failed.
 */
export async function pushToTargets(
  targets: readonly Target[],
  credential: PushedCredential,
  ctx: TargetContext,
  concurrency: number,
  now: () => Date,
): Promise<PushReport> {
  const report: PushReport = { records: [], disabled: [], failures: [] };
  await mapLimit(targets, concurrency, async (target) => {
    try {
      const result = await target.push(credential, ctx);
      if (result.outcome === 'disabled') {
        report.disabled.push({ target, reason: result.reason });
        report.records.push({ name: target.name, state: 'disabled', at: now() });
      } else {
        report.records.push({
          name: target.name,
          state: 'received',
          accessKeyId: credential.accessKeyId,
          versionId: ctx.versionId,
          at: now(),
        });
      }
    } catch (error) {
      report.failures.push({ target, error });
    }
  });
  return report;
}

/** Verifies every target, at most `concurrency` at once; the failures. */
export async function verifyTargets(
  targets: readonly Target[],
  credential: PushedCredential,
  ctx: TargetContext,
  concurrency: number,
): Promise<TargetProblem[]> {
  const failures: TargetProblem[] = [];
  await mapLimit(targets, concurrency, async (target) => {
    try {
      await target.verify(credential, ctx);
    } catch (error) {
      failures.push({ target, error });
    }
  });
  return failures;
}

/** Each target's live fingerprint (an error is kept as its message), with its record. */
export async function readFingerprints(
  targets: readonly Target[],
  userName: string,
  records: ReadonlyMap<string, TargetRecord>,
  concurrency: number,
): Promise<TargetView[]> {
  return mapLimit(targets, concurrency, async (target) => {
    const record = records.get(target.name);
    const base = { name: target.name, type: target.type, ...(record ? { record } : {}) };
    try {
      return { ...base, fingerprint: await target.fingerprint({ userName }) };
    } catch (error) {
      return { ...base, fingerprint: { state: 'error' as const, message: problemText(error) } };
    }
  });
}

/** The words of a target problem: a TargetFailure's own (it names the target and the fix). */
export function problemText(error: unknown): string {
  if (error instanceof TargetFailure) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return 'an unknown error';
}

/** Whether a later attempt of the step may succeed without anyone changing anything. */
export function allRetryable(problems: readonly TargetProblem[]): boolean {
  return problems.every((p) => !(p.error instanceof TargetFailure) || p.error.retryable);
}
