/**
 * The rotation steps' side of targets (lib/rotation/targets.ts) on the in-memory AWS model: what each
 * target receives, what is recorded on the secret, how many calls run at once, what is logged, and
 * what a failing target leaves behind (the new key pending, the old one current, an error naming it).
 */
import { DescribeSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { TargetError } from '../../../lib/errors.js';
import { finishSecret, setSecret, testSecret } from '../../../lib/rotation/steps.js';
import { pushToUserTargets, verifyUserTargets } from '../../../lib/rotation/targets.js';
import { parseSecretValue, type SecretValue } from '../../../lib/secret/value.js';
import { TargetFailure } from '../../../lib/targets/failure.js';
import type { PushedCredential, PushOutcome, Target, TargetContext } from '../../../lib/targets/port.js';
import { awsModel, credentialOf, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const OLD = 'AKIAOLD0000000000000';
const NEW = 'AKIANEW0000000000000';
/** The model's values are created at this time; targets get it as `rotatedAt`. */
const CREATED = new Date('2026-01-01T00:00:00.000Z');
const received = (keyId: string, version: string) => `${keyId} ${version} ${START.toISOString()}`;
const disabledAt = `disabled - ${START.toISOString()}`;

beforeEach(() => {
  aws.install();
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.failOnce.clear();
  aws.addKey(OLD);
  aws.addKey(NEW);
});

/** The secret mid-rotation: V1 (the old key) current, V2 (the new key) pending; `tags` added. */
function midRotation(tags: Record<string, string> = {}) {
  return aws.addSecret({ V1: [OLD, ['AWSCURRENT']], V2: [NEW, ['AWSPENDING']] }, tags);
}

function storedValue(keyId: string): SecretValue {
  const value = parseSecretValue(credentialOf(keyId));
  if (value === undefined) throw new Error('the model stores keyrot values');
  return value;
}

/** Counts the calls in flight across targets, and the most seen at once. */
function gauge() {
  const state = { inFlight: 0, max: 0 };
  return {
    state,
    async during<T>(result: T): Promise<T> {
      state.inFlight++;
      state.max = Math.max(state.max, state.inFlight);
      // Let every other started call reach this point before this one ends.
      await new Promise<void>((resolve) => setImmediate(resolve));
      state.inFlight--;
      return result;
    },
  };
}

interface Behaviour {
  push?: () => Promise<PushOutcome>;
  verify?: () => Promise<void>;
  redeploy?: () => Promise<void>;
}

/** A target that records what it is handed (and `this` for redeploy), with scripted answers. */
function recording(name: string, behaviour: Behaviour = {}) {
  const pushes: Array<{ credential: PushedCredential; ctx: TargetContext }> = [];
  const verifies: Array<{ credential: PushedCredential; ctx: TargetContext }> = [];
  const redeploys: Array<{ self: unknown; ctx: unknown }> = [];
  const target: Target = {
    type: 'fake',
    name,
    push: async (credential, ctx) => {
      pushes.push({ credential, ctx });
      return behaviour.push ? behaviour.push() : { outcome: 'pushed' };
    },
    verify: async (credential, ctx) => {
      verifies.push({ credential, ctx });
      await behaviour.verify?.();
    },
    fingerprint: async () => ({ state: 'unknown' }),
    describe: () => ({ type: 'fake', name, where: `somewhere/${name}` }),
    ...(behaviour.redeploy
      ? {
          async redeploy(this: unknown, ctx: unknown) {
            redeploys.push({ self: this, ctx });
            await behaviour.redeploy?.();
          },
        }
      : {}),
  };
  return { target, pushes, verifies, redeploys };
}

/** A logger that keeps every line. */
function recordingLogger() {
  const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
  return {
    lines,
    logger: {
      info: (message: string, extra?: Record<string, unknown>) => void lines.push(['info', message, extra]),
      warn: (message: string, extra?: Record<string, unknown>) => void lines.push(['warn', message, extra]),
    },
  };
}

const rejectWith = (error: unknown) => () => Promise.reject(error);

describe('setSecret pushes the pending key to the user’s targets', () => {
  it('hands every target the pending key with the version and creation time, records each, and logs each receipt', async () => {
    // Prepare
    midRotation();
    const repo = recording('ci-repo');
    const hook = recording('ci-hook');
    const { deps } = mockDeps([repo.target, hook.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    // Act
    await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' });
    // Assess: each target got the pending key, never the current one.
    const expected = {
      credential: { userName: 'ci', accessKeyId: NEW, secretAccessKey: `fake-secret-${NEW}` },
      ctx: { userName: 'ci', versionId: 'V2', rotatedAt: CREATED },
    };
    expect(repo.pushes).toEqual([expected]);
    expect(hook.pushes).toEqual([expected]);
    // What each holds is recorded on the secret, in one write; the stages are untouched.
    expect(aws.secrets).toHaveReceivedCommandTimes(TagResourceCommand, 1);
    expect(aws.state.secret?.tags).toMatchObject({
      'keyrot:target:ci-repo': received(NEW, 'V2'),
      'keyrot:target:ci-hook': received(NEW, 'V2'),
    });
    expect(aws.stageHolder('AWSPENDING')).toBe('V2');
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
    expect(lines).toEqual([
      ['info', 'target received key', { user: 'ci', target: 'ci-repo', accessKeyId: NEW }],
      ['info', 'target received key', { user: 'ci', target: 'ci-hook', accessKeyId: NEW }],
    ]);
  });

  it('gives a target a creation time of 0 when the stored value’s CreatedAt is not a date', async () => {
    midRotation();
    const repo = recording('ci-repo');
    const { deps } = mockDeps([repo.target]);
    await pushToUserTargets(
      deps,
      { secretId: MODEL_SECRET_ARN, versionId: 'V2', userName: 'ci' },
      { ...storedValue(NEW), CreatedAt: 'not a date' },
    );
    expect(repo.pushes.map((p) => p.ctx)).toEqual([
      { userName: 'ci', versionId: 'V2', rotatedAt: new Date(0) },
    ]);
  });

  it('pushes to at most targetConcurrency targets at once, and to every one of them', async () => {
    midRotation();
    const load = gauge();
    const targets = ['a', 'b', 'c', 'd', 'e'].map((name) =>
      recording(name, { push: () => load.during<PushOutcome>({ outcome: 'pushed' }) }),
    );
    const { deps } = mockDeps(
      targets.map((t) => t.target),
      {
        propagationTimeoutMs: 120_000,
        abandonAfterMs: 15 * 60_000,
        idleDaysBeforeDeactivate: 3,
        deleteAfterDays: 7,
        targetConcurrency: 2,
      },
    );
    await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' });
    expect(load.state.max).toBe(2);
    expect(targets.map((t) => t.pushes.length)).toEqual([1, 1, 1, 1, 1]);
    for (const name of ['a', 'b', 'c', 'd', 'e'])
      expect(aws.state.secret?.tags[`keyrot:target:${name}`]).toBe(received(NEW, 'V2'));
  });

  it('pushes to 8 targets at once when no targetConcurrency is set', async () => {
    midRotation();
    const load = gauge();
    const targets = Array.from({ length: 10 }, (_, i) =>
      recording(`t${i}`, { push: () => load.during<PushOutcome>({ outcome: 'pushed' }) }),
    );
    const { deps } = mockDeps(targets.map((t) => t.target));
    await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' });
    expect(load.state.max).toBe(8);
    expect(targets.every((t) => t.pushes.length === 1)).toBe(true);
    expect(targets).toHaveLength(10);
  });

  it('reads nothing and writes nothing for a user without targets', async () => {
    midRotation();
    const { deps } = mockDeps([]);
    await pushToUserTargets(
      deps,
      { secretId: MODEL_SECRET_ARN, versionId: 'V2', userName: 'ci' },
      storedValue(NEW),
    );
    expect(aws.secrets.calls()).toHaveLength(0);
    expect(aws.state.secret?.tags).toEqual({ 'keyrot:user': 'ci', 'keyrot:user-arn': MODEL_USER_ARN });
  });

  it('skips a target its record says is disabled, warning with what it is, and writes nothing when no other is left', async () => {
    midRotation({ 'keyrot:target:vendor': disabledAt });
    const vendor = recording('vendor');
    const { deps } = mockDeps([vendor.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' });
    expect(vendor.pushes).toEqual([]);
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
    expect(lines).toEqual([
      [
        'warn',
        'target disabled; not pushed to',
        { user: 'ci', target: { type: 'fake', name: 'vendor', where: 'somewhere/vendor' } },
      ],
    ]);
  });

  it('records a target that answers "disabled", warns with the reason, and logs a receipt only for the others', async () => {
    midRotation();
    const reason = 'webhook target "vendor": the receiver answered 410 Gone';
    const vendor = recording('vendor', { push: async () => ({ outcome: 'disabled', reason }) });
    const repo = recording('ci-repo');
    const { deps } = mockDeps([vendor.target, repo.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' });
    expect(aws.state.secret?.tags).toMatchObject({
      'keyrot:target:vendor': disabledAt,
      'keyrot:target:ci-repo': received(NEW, 'V2'),
    });
    expect(lines).toEqual([
      [
        'warn',
        'target disabled',
        { user: 'ci', target: { type: 'fake', name: 'vendor', where: 'somewhere/vendor' }, reason },
      ],
      ['info', 'target received key', { user: 'ci', target: 'ci-repo', accessKeyId: NEW }],
    ]);
  });

  it('uses the snapshot it is given instead of reading the secret again', async () => {
    // The secret says the target is disabled, the caller's snapshot (taken earlier) does not.
    midRotation({ 'keyrot:target:vendor': disabledAt });
    const vendor = recording('vendor');
    const { deps } = mockDeps([vendor.target]);
    await pushToUserTargets(
      deps,
      {
        secretId: MODEL_SECRET_ARN,
        versionId: 'V2',
        userName: 'ci',
        snapshot: {
          arn: MODEL_SECRET_ARN,
          name: 'keyrot/ci',
          rotationEnabled: true,
          versions: new Map([['V2', ['AWSPENDING']]]),
          tags: {},
        },
      },
      storedValue(NEW),
      'the current key back',
    );
    expect(aws.secrets).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(vendor.pushes.map((p) => p.credential.accessKeyId)).toEqual([NEW]);
  });
});

describe('a failing push', () => {
  it('tries the others, leaves the new key pending and the old one current, and names the target and the fix', async () => {
    // Prepare
    midRotation();
    const failure = new TargetFailure(
      'unauthorized',
      'github-actions target "ci-repo": HTTP 401: fix the token',
    );
    const repo = recording('ci-repo', { push: rejectWith(failure) });
    const hook = recording('ci-hook');
    const { deps } = mockDeps([repo.target, hook.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    // Act
    const error = await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' }).catch(
      (e: unknown) => e,
    );
    // Assess
    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({
      message:
        'Pushing the new key of ci failed for 1 of 2 targets; the old key stays current. Fix this, then run keyrot rotate --user ci: it resumes this rotation and pushes again.\n  - github-actions target "ci-repo": HTTP 401: fix the token',
      target: { type: 'fake', name: 'ci-repo' },
      cause: failure,
    });
    expect(aws.stageHolder('AWSPENDING')).toBe('V2');
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
    // Only the target that received the key is recorded as holding it.
    expect(hook.pushes).toHaveLength(1);
    expect(aws.state.secret?.tags['keyrot:target:ci-hook']).toBe(received(NEW, 'V2'));
    expect(aws.state.secret?.tags).not.toHaveProperty('keyrot:target:ci-repo');
    expect(lines).toEqual([
      ['info', 'target received key', { user: 'ci', target: 'ci-hook', accessKeyId: NEW }],
    ]);
  });

  it('says the rotation is retried when every failure may pass by itself (a TargetFailure that is retryable, or any other error)', async () => {
    midRotation();
    const server = new TargetFailure('server', 'gitlab target "ops": HTTP 503: the provider failed');
    const crash = new Error('socket closed');
    const ops = recording('ops', { push: rejectWith(server) });
    const other = recording('other', { push: rejectWith(crash) });
    const { deps } = mockDeps([ops.target, other.target]);
    const error = await setSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2', userName: 'ci' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({
      message:
        'Pushing the new key of ci failed for 2 of 2 targets; the old key stays current. The rotation is retried.\n' +
        '  - gitlab target "ops": HTTP 503: the provider failed\n' +
        '  - fake target "other": Error: socket closed',
      target: { type: 'fake', name: 'ops' },
      cause: server,
    });
    // Nothing received the key: nothing is recorded.
    expect(aws.secrets).not.toHaveReceivedCommand(TagResourceCommand);
    expect(aws.stageHolder('AWSPENDING')).toBe('V2');
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
  });

  it('counts one target in the singular, and names what was being pushed', async () => {
    midRotation();
    const only = recording('only', { push: rejectWith('not an error') });
    const { deps } = mockDeps([only.target]);
    await expect(
      pushToUserTargets(
        deps,
        { secretId: MODEL_SECRET_ARN, versionId: 'V1', userName: 'ci' },
        storedValue(OLD),
        'the current key back',
      ),
    ).rejects.toThrow(
      'Pushing the current key back of ci failed for 1 of 1 target; the old key stays current. The rotation is retried.\n  - fake target "only": an unknown error',
    );
  });
});

describe('testSecret verifies the pending key with every active target', () => {
  it('hands each target the pending key, skipping one the secret now says is disabled', async () => {
    // setSecret disabled "vendor" after the caller's snapshot: the verify reads the secret afresh.
    midRotation({ 'keyrot:target:vendor': disabledAt, 'keyrot:target:ci-repo': received(NEW, 'V2') });
    const vendor = recording('vendor');
    const repo = recording('ci-repo');
    const { deps } = mockDeps([vendor.target, repo.target]);
    const result = await testSecret(deps, {
      secretId: MODEL_SECRET_ARN,
      token: 'V2',
      userArn: MODEL_USER_ARN,
      snapshot: {
        arn: MODEL_SECRET_ARN,
        name: 'keyrot/ci',
        rotationEnabled: true,
        versions: new Map([['V2', ['AWSPENDING']]]),
        tags: {},
      },
    });
    expect(result).toEqual({ attempts: 1 });
    expect(vendor.verifies).toEqual([]);
    expect(repo.verifies).toEqual([
      {
        credential: { userName: 'ci', accessKeyId: NEW, secretAccessKey: `fake-secret-${NEW}` },
        ctx: { userName: 'ci', versionId: 'V2', rotatedAt: CREATED },
      },
    ]);
  });

  it('fails naming the target that does not hold the key, and leaves the stages alone', async () => {
    midRotation();
    const failure = new TargetFailure(
      'bad-response',
      'aws-ssm target "params": holds AKIAOTHER, not the new key',
    );
    const params = recording('params', { verify: rejectWith(failure) });
    const repo = recording('ci-repo');
    const { deps } = mockDeps([params.target, repo.target]);
    const error = await testSecret(deps, {
      secretId: MODEL_SECRET_ARN,
      token: 'V2',
      userArn: MODEL_USER_ARN,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({
      message:
        'Verifying the new key of ci failed for 1 of 2 targets; the old key stays current. Fix this, then run keyrot rotate --user ci: it resumes this rotation and pushes again.\n  - aws-ssm target "params": holds AKIAOTHER, not the new key',
      target: { type: 'fake', name: 'params' },
      cause: failure,
    });
    expect(repo.verifies).toHaveLength(1);
    expect(aws.stageHolder('AWSPENDING')).toBe('V2');
    expect(aws.stageHolder('AWSCURRENT')).toBe('V1');
  });

  it('verifies at most targetConcurrency targets at once', async () => {
    midRotation();
    const load = gauge();
    const targets = ['a', 'b', 'c', 'd'].map((name) =>
      recording(name, { verify: () => load.during(undefined) }),
    );
    const { deps } = mockDeps(
      targets.map((t) => t.target),
      {
        propagationTimeoutMs: 120_000,
        abandonAfterMs: 15 * 60_000,
        idleDaysBeforeDeactivate: 3,
        deleteAfterDays: 7,
        targetConcurrency: 3,
      },
    );
    await verifyUserTargets(deps, { secretId: MODEL_SECRET_ARN, versionId: 'V2' }, storedValue(NEW));
    expect(load.state.max).toBe(3);
    expect(targets.map((t) => t.verifies.length)).toEqual([1, 1, 1, 1]);
  });

  it('reads nothing for a user without targets', async () => {
    midRotation();
    const { deps } = mockDeps([]);
    await verifyUserTargets(deps, { secretId: MODEL_SECRET_ARN, versionId: 'V2' }, storedValue(NEW));
    expect(aws.secrets.calls()).toHaveLength(0);
  });
});

describe('finishSecret redeploys the targets that received this version', () => {
  it('asks only a target with a redeploy whose record names this version, with the target as `this`, and logs it', async () => {
    // Prepare: every way a target can fall outside "received this version and has a redeploy".
    midRotation({
      'keyrot:target:fresh': received(NEW, 'V2'),
      'keyrot:target:behind': received(OLD, 'V1'),
      'keyrot:target:gone': disabledAt,
      'keyrot:target:plain': received(NEW, 'V2'),
    });
    const fresh = recording('fresh', { redeploy: async () => {} });
    const behind = recording('behind', { redeploy: async () => {} });
    const gone = recording('gone', { redeploy: async () => {} });
    const unrecorded = recording('unrecorded', { redeploy: async () => {} });
    const plain = recording('plain');
    const { deps } = mockDeps([fresh.target, behind.target, gone.target, unrecorded.target, plain.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    // Act
    const result = await finishSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2' });
    // Assess
    expect(result).toEqual({ moved: true, redeployFailures: [] });
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
    expect(fresh.redeploys).toEqual([{ self: fresh.target, ctx: { userName: 'ci', versionId: 'V2' } }]);
    expect([behind, gone, unrecorded].map((t) => t.redeploys)).toEqual([[], [], []]);
    expect(lines).toEqual([
      ['info', 'redeploy triggered', { user: 'ci', target: 'fresh', type: 'fake', accessKeyId: NEW }],
    ]);
  });

  it('returns and logs a failed redeploy without failing: the new key stays current', async () => {
    midRotation({ 'keyrot:target:fresh': received(NEW, 'V2'), 'keyrot:target:ok': received(NEW, 'V2') });
    const error = new TargetFailure(
      'forbidden',
      'github-actions target "fresh": HTTP 403: grant actions:write',
    );
    const fresh = recording('fresh', { redeploy: rejectWith(error) });
    const ok = recording('ok', { redeploy: async () => {} });
    const { deps } = mockDeps([fresh.target, ok.target]);
    const { logger, lines } = recordingLogger();
    deps.logger = logger;
    const result = await finishSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2' });
    expect(result).toEqual({
      moved: true,
      redeployFailures: [{ targetType: 'fake', targetName: 'fresh', accessKeyId: NEW, error }],
    });
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
    expect(aws.state.secret?.tags['keyrot:cutover']).toMatch(/^V2 /);
    expect(ok.redeploys).toHaveLength(1);
    expect(lines).toEqual([
      [
        'warn',
        'redeploy failed; the new key stays current',
        {
          user: 'ci',
          target: 'fresh',
          type: 'fake',
          accessKeyId: NEW,
          reason: 'github-actions target "fresh": HTTP 403: grant actions:write',
        },
      ],
      ['info', 'redeploy triggered', { user: 'ci', target: 'ok', type: 'fake', accessKeyId: NEW }],
    ]);
  });

  it('redeploys at most targetConcurrency targets at once, every one of them', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    midRotation(Object.fromEntries(names.map((n) => [`keyrot:target:${n}`, received(NEW, 'V2')])));
    const load = gauge();
    const targets = names.map((name) => recording(name, { redeploy: () => load.during(undefined) }));
    const { deps } = mockDeps(
      targets.map((t) => t.target),
      {
        propagationTimeoutMs: 120_000,
        abandonAfterMs: 15 * 60_000,
        idleDaysBeforeDeactivate: 3,
        deleteAfterDays: 7,
        targetConcurrency: 2,
      },
    );
    await finishSecret(deps, { secretId: MODEL_SECRET_ARN, token: 'V2' });
    expect(load.state.max).toBe(2);
    expect(targets.map((t) => t.redeploys.length)).toEqual([1, 1, 1, 1, 1]);
  });
});
