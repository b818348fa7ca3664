/**
 * The target contract kit. Any adapter runs through it against its provider's fake (ours or a third
 * party's): give `contract` a Subject and it checks that
 * - options the schema must refuse are refused, naming the field;
 * - push works and is idempotent, and verify passes after it;
 * - the fingerprint matches after a push (or is `unknown`, for providers that can't tell);
 * - verify fails when the target holds another key (where the fingerprint is known);
 * - every failure class is classified retryable or not, and retryable ones are retried (honouring
 *   Retry-After and rate-limit resets);
 * - no key and no token appears in an error, a log line or describe(), even when the provider
 *   echoes them back.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetType } from '../../lib/targets/catalog.js';
import { FAILURE_CLASSES, type FailureClass, TargetFailure } from '../../lib/targets/failure.js';
import type {
  CreateTarget,
  PushedCredential,
  Target,
  TargetContext,
  TargetDeps,
  TargetLogger,
} from '../../lib/targets/port.js';
import { createRegistry } from '../../lib/targets/registry.js';
import type { Fault } from '../fakes/server.js';

export interface ContractCase {
  /** What is injected, in words: "HTTP 401", "429 with Retry-After". */
  label: string;
  /** The fault (built with what must not leak, so a provider echoing it is covered). */
  fault: (echo: string) => Fault;
  /** How many requests in a row get the fault (default 1); 'always' for every attempt. */
  times?: number | 'always';
  expect: { failureClass: FailureClass } | { recovers: true; sleptAtLeast?: number; sleptAtMost?: number };
}

export interface Subject {
  type: TargetType;
  create: CreateTarget<never>;
  /** Valid options pointing at the fake. */
  options: Record<string, unknown>;
  /** Options the schema must refuse, and the field the message must name. */
  badOptions: Array<{ options: Record<string, unknown>; field: string }>;
  /** The token (or signing secret) value the adapter reads: must never leak. */
  token: string;
  /** What the adapter gets beyond clock, logger and HTTP settings: fetch, readToken, an SSM port. */
  deps(): Pick<TargetDeps, 'fetch' | 'readToken'> & Partial<TargetDeps>;
  /** What the provider holds now, read on the fake's side (decrypted where it must be). */
  holds(): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined>;
  /** Whether the provider can say which key it holds (fingerprint). */
  fingerprints: boolean;
  fail(fault: Fault, times: number): void;
  clearFaults(): void;
  cases: ContractCase[];
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

const newCredential = (userName: string): PushedCredential => ({
  userName,
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
});

export function contract(name: string, makeSubject: () => Subject): void {
  describe(`the ${name} adapter keeps the target contract`, () => {
    const subject = makeSubject();
    const logs: string[] = [];
    const sleeps: number[] = [];
    const logger: TargetLogger = {
      info: (message, extra) => logs.push(JSON.stringify({ message, extra })),
      warn: (message, extra) => logs.push(JSON.stringify({ message, extra })),
    };
    const now = new Date();
    const build = (): Target => {
      const deps: TargetDeps = {
        clock: { now: () => new Date(), sleep: async (ms) => void sleeps.push(ms) },
        logger,
        http: { timeoutMs: 400, attempts: 3, maxWaitMs: 10_000 },
        ...subject.deps(),
      };
      // As the rotation builds it: the options parsed by the type's schema, defaults filled in.
      const options = createRegistry([subject.type]).options({
        type: subject.type.type,
        name: 'contract',
        options: subject.options,
      });
      return subject.create('contract', options as never, deps);
    };
    const ctx = (credential: PushedCredential): TargetContext => ({
      userName: credential.userName,
      versionId: randomBytes(16).toString('hex'),
      rotatedAt: now,
    });
    /** Everything an error says or holds, deeply. */
    const everything = (value: unknown) =>
      `${String(value)} ${inspect(value, { depth: 8, showHidden: true })}`;
    const leaks: Array<{ where: string; text: string }> = [];
    const secretsSeen: string[] = [];

    beforeAll(async () => {
      await subject.setup?.();
    });
    afterAll(async () => {
      await subject.teardown?.();
    });

    it('refuses bad options, naming the field', () => {
      const registry = createRegistry([subject.type]);
      expect(
        registry.check([{ type: subject.type.type, name: 'ok', options: subject.options }], 't'),
      ).toEqual([]);
      for (const bad of subject.badOptions) {
        const problems = registry.check(
          [{ type: subject.type.type, name: 'bad', options: bad.options }],
          't',
        );
        expect(problems.length, JSON.stringify(bad.options)).toBeGreaterThan(0);
        expect(problems.join('\n')).toContain(`t[0].${bad.field}`);
      }
    });

    it('pushes idempotently: twice the same key, and the provider holds it once; verify passes', async () => {
      const credential = newCredential('contract-user');
      secretsSeen.push(credential.secretAccessKey);
      const c = ctx(credential);
      expect(await build().push(credential, c)).toEqual({ outcome: 'pushed' });
      expect(await build().push(credential, c)).toEqual({ outcome: 'pushed' });
      expect(await subject.holds()).toEqual({
        accessKeyId: credential.accessKeyId,
        secretAccessKey: credential.secretAccessKey,
      });
      await build().verify(credential, c);
    });

    it('reports the pushed key id as its fingerprint, or says it is unknown', async () => {
      const credential = newCredential('contract-user');
      secretsSeen.push(credential.secretAccessKey);
      await build().push(credential, ctx(credential));
      expect(await build().fingerprint({ userName: credential.userName })).toEqual(
        subject.fingerprints ? { state: 'holds', accessKeyId: credential.accessKeyId } : { state: 'unknown' },
      );
    });

    if (subject.fingerprints)
      it('fails verify when the provider holds another key', async () => {
        const held = newCredential('contract-user');
        const other = newCredential('contract-user');
        secretsSeen.push(held.secretAccessKey, other.secretAccessKey);
        await build().push(held, ctx(held));
        const error = await build()
          .verify(other, ctx(other))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(TargetFailure);
        leaks.push({ where: 'verify error', text: everything(error) });
      });

    for (const testCase of subject.cases) {
      const expected = testCase.expect;
      const title =
        'failureClass' in expected
          ? `classifies ${testCase.label} as ${expected.failureClass} (${FAILURE_CLASSES[expected.failureClass] ? 'retryable' : 'not retryable'})${FAILURE_CLASSES[expected.failureClass] ? ' after its retries' : ', at once'}`
          : `retries ${testCase.label} and then succeeds`;
      it(title, async () => {
        const credential = newCredential('contract-user');
        secretsSeen.push(credential.secretAccessKey);
        const echo = `${credential.secretAccessKey} ${subject.token}`;
        const times = testCase.times === 'always' ? 50 : (testCase.times ?? 1);
        subject.fail(testCase.fault(echo), times);
        sleeps.length = 0;
        const result = await build()
          .push(credential, ctx(credential))
          .then(
            (outcome) => ({ outcome }),
            (error: unknown) => ({ error }),
          );
        if ('failureClass' in expected) {
          expect('error' in result && result.error).toBeInstanceOf(TargetFailure);
          const failure = (result as { error: TargetFailure }).error;
          expect({ failureClass: failure.failureClass, retryable: failure.retryable }).toEqual({
            failureClass: expected.failureClass,
            retryable: FAILURE_CLASSES[expected.failureClass],
          });
          expect(failure.message).toContain('"contract"');
          leaks.push({ where: `${testCase.label} error`, text: everything(failure) });
          // Not retried: exactly as many attempts as the fault took (1); retried: it used them all.
          if (!failure.retryable) expect(sleeps).toEqual([]);
        } else {
          expect(result).toEqual({ outcome: { outcome: 'pushed' } });
          expect(sleeps.length).toBeGreaterThan(0);
          if (expected.sleptAtLeast !== undefined)
            expect(sleeps[0]).toBeGreaterThanOrEqual(expected.sleptAtLeast);
          if (expected.sleptAtMost !== undefined) expect(sleeps[0]).toBeLessThanOrEqual(expected.sleptAtMost);
          expect((await subject.holds())?.accessKeyId).toBe(credential.accessKeyId);
        }
        subject.clearFaults();
      });
    }

    it('never lets a key or a token reach an error, a log line or describe()', () => {
      const target = build();
      leaks.push({ where: 'describe()', text: JSON.stringify(target.describe()) });
      leaks.push({ where: 'logs', text: logs.join('\n') });
      expect(leaks.length).toBeGreaterThan(1);
      for (const { where, text } of leaks) {
        expect(text, where).not.toContain(subject.token);
        for (const secret of secretsSeen) expect(text, where).not.toContain(secret);
      }
    });
  });
}
