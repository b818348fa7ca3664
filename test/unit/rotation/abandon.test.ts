import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Config, defaultConfig } from '../../../lib/config.js';
import { BrokenUserError, KeyrotError, NotManagedError, TargetError } from '../../../lib/errors.js';
import { abandonRotation } from '../../../lib/rotation/abandon.js';
import { rotateUser } from '../../../lib/rotation/driver.js';
import { awsError } from '../../helpers/aws-errors.js';
import {
  awsModel,
  expectNoKeyChanged,
  expectNothingChanged,
  MODEL_SECRET_ARN,
  MODEL_USER_ARN,
  rejectionOf,
} from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const OLD = 'AKIAOLD0000000000000';
const NEW = 'AKIANEW0000000000000';
const EARLIER = '2026-05-01T00:00:00.000Z';
const PUSHED = '2026-06-01T11:00:00.000Z';
const NOW = START.toISOString();

/** The config of user ci with targets of these names (the fake type: only the names matter here). */
const configWith = (...names: string[]): Config => ({
  ...defaultConfig,
  users: { ci: { targets: names.map((name) => ({ type: 'fake', name, options: {} })) } },
});

beforeEach(() => {
  aws.install();
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
});

/**
 * OLD is AWSCURRENT (V1, cut over on May 1st); a rotation stored NEW as AWSPENDING (T) and pushed it to
 * "repo", then stopped (say "hook"'s verify failed, or a target was unreachable).
 */
function unfinishedRotation(extraTags: Record<string, string> = {}) {
  aws.addKey(OLD, { lastUsed: new Date('2026-05-31T00:00:00Z') });
  aws.addKey(NEW, { created: START });
  return aws.addSecret(
    { V1: [OLD, ['AWSCURRENT']], T: [NEW, ['AWSPENDING']] },
    {
      'keyrot:cutover': `V1 ${EARLIER}`,
      'keyrot:target:repo': `${NEW} T ${PUSHED}`,
      'keyrot:target:hook': `${OLD} V1 ${EARLIER}`,
      ...extraTags,
    },
  );
}

const stageCalls = () =>
  aws.secrets.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
const tagCalls = () => aws.secrets.commandCalls(TagResourceCommand).map((c) => c.args[0].input.Tags);
const keys = () => aws.state.keys.map((k) => `${k.id} ${k.status}`);
const tags = () => aws.state.secret?.tags ?? {};

describe('abandonRotation (keyrot rollback --abandon)', () => {
  it('pushes the current key back to the targets that got the pending one, then cancels the rotation, deleting no key', async () => {
    // Prepare
    unfinishedRotation();
    const repo = fakeTarget('repo');
    const hook = fakeTarget('hook');
    const { deps } = mockDeps([repo.target, hook.target]);
    // Act
    const result = await abandonRotation(deps, configWith('repo', 'hook'), 'ci');
    // Assess
    expect(result).toStrictEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      abandonedKeyId: NEW,
      currentKeyId: OLD,
      restoredTargets: ['repo'],
    });
    // Only the target that held the pending key got the current one back.
    expect(repo.pushed).toEqual([OLD]);
    expect(hook.pushed).toEqual([]);
    // The record names the current version; then the cancellation is recorded, then AWSPENDING goes.
    expect(tagCalls()).toEqual([
      [{ Key: 'keyrot:target:repo', Value: `${OLD} V1 ${NOW}` }],
      [{ Key: 'keyrot:cancelled', Value: `T ${NOW}` }],
    ]);
    expect(stageCalls()).toEqual([
      { SecretId: MODEL_SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'T' },
    ]);
    const [recorded, cancelled] = aws.secrets.commandCalls(TagResourceCommand);
    const [moved] = aws.secrets.commandCalls(UpdateSecretVersionStageCommand);
    expect(recorded?.calledBefore(cancelled ?? recorded)).toBe(true);
    expect(cancelled?.calledBefore(moved ?? cancelled)).toBe(true);
    // The state left behind: OLD still current, NEW in no stage (its version kept), both keys as they were.
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
    expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
    expect(aws.state.secret?.versions.get('T')?.stages).toEqual([]);
    expect(aws.state.secret?.versions.get('V1')?.stages).toEqual(['AWSCURRENT']);
    expect(tags()).toMatchObject({
      'keyrot:cutover': `V1 ${EARLIER}`,
      'keyrot:target:repo': `${OLD} V1 ${NOW}`,
      'keyrot:target:hook': `${OLD} V1 ${EARLIER}`,
      'keyrot:cancelled': `T ${NOW}`,
    });
    expect(keys()).toEqual([`${OLD} Active`, `${NEW} Active`]);
    expectNoKeyChanged(aws);
  });

  it('pushes to no target that already holds the current key, is disabled, or is no longer configured', async () => {
    unfinishedRotation({
      'keyrot:target:gone': `disabled - ${PUSHED}`,
      'keyrot:target:retired': `${NEW} T ${PUSHED}`,
      'keyrot:target:garbled': 'not a record',
    });
    const fakes = ['repo', 'hook', 'gone', 'retired', 'garbled'].map((name) => fakeTarget(name));
    const { deps } = mockDeps(fakes.map((f) => f.target));
    // "retired" holds the pending key but is no longer in the user's config.
    const result = await abandonRotation(deps, configWith('repo', 'hook', 'gone', 'garbled'), 'ci');
    expect(result.restoredTargets).toEqual(['repo']);
    expect(Object.fromEntries(fakes.map((f) => [f.target.name, f.pushed]))).toEqual({
      repo: [OLD],
      hook: [],
      gone: [],
      retired: [],
      garbled: [],
    });
    expect(tags()['keyrot:target:retired']).toBe(`${NEW} T ${PUSHED}`);
    expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
  });

  it('with no targets, only cancels the rotation', async () => {
    unfinishedRotation();
    const { deps } = mockDeps();
    const result = await abandonRotation(deps, defaultConfig, 'ci');
    expect(result).toStrictEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      abandonedKeyId: NEW,
      currentKeyId: OLD,
      restoredTargets: [],
    });
    expect(tagCalls()).toEqual([[{ Key: 'keyrot:cancelled', Value: `T ${NOW}` }]]);
    expect(stageCalls()).toEqual([
      { SecretId: MODEL_SECRET_ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'T' },
    ]);
    expect(aws.keyAt('AWSCURRENT')).toBe(OLD);
    expectNoKeyChanged(aws);
  });

  it('cancels a rotation whose pending version holds no key yet, naming no abandoned key', async () => {
    unfinishedRotation();
    aws.state.keys = aws.state.keys.filter((k) => k.id === OLD);
    const pending = aws.state.secret?.versions.get('T');
    if (pending) pending.value = undefined;
    const { deps } = mockDeps();
    const result = await abandonRotation(deps, defaultConfig, 'ci');
    expect(result).toStrictEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      currentKeyId: OLD,
      restoredTargets: [],
    });
    expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
    expect(tags()['keyrot:cancelled']).toBe(`T ${NOW}`);
  });

  it('brings back a target still on the pending key after the rotation was cancelled, changing no stage', async () => {
    // A finished-looking secret (a driven rotation leaves AWSPENDING on the version it made current),
    // but "repo" still holds the key of a version that is not current.
    aws.addKey(OLD);
    aws.addKey(NEW, { created: START });
    aws.addSecret(
      { V1: [OLD, ['AWSCURRENT', 'AWSPENDING']], T: [NEW, []] },
      { 'keyrot:cutover': `V1 ${EARLIER}`, 'keyrot:target:repo': `${NEW} T ${PUSHED}` },
    );
    const repo = fakeTarget('repo');
    const { deps } = mockDeps([repo.target]);
    const result = await abandonRotation(deps, configWith('repo'), 'ci');
    expect(result).toStrictEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      currentKeyId: OLD,
      restoredTargets: ['repo'],
    });
    expect(repo.pushed).toEqual([OLD]);
    expect(tagCalls()).toEqual([[{ Key: 'keyrot:target:repo', Value: `${OLD} V1 ${NOW}` }]]);
    expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(aws.state.secret?.versions.get('V1')?.stages).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  describe('after a crash, running again converges', () => {
    it('a target that failed to take the current key back: AWSPENDING stays until every target has it', async () => {
      // Prepare: both targets got the pending key; "hook" fails to take the current one back.
      unfinishedRotation({ 'keyrot:target:hook': `${NEW} T ${PUSHED}` });
      let down = true;
      const repo = fakeTarget('repo');
      const hook = fakeTarget('hook', {
        push: async () => {
          if (down) throw new Error('connect ECONNREFUSED');
        },
      });
      const { deps } = mockDeps([repo.target, hook.target]);
      const config = configWith('repo', 'hook');
      // Act 1
      const error = await rejectionOf(abandonRotation(deps, config, 'ci'));
      // Assess 1: repo is back on the current key (recorded), hook is not, and nothing is cancelled.
      expect(error).toBeInstanceOf(TargetError);
      expect(error.message).toMatch(/^Pushing the current key back of ci failed for 1 of 2 targets/);
      expect(tags()['keyrot:target:repo']).toBe(`${OLD} V1 ${NOW}`);
      expect(tags()['keyrot:target:hook']).toBe(`${NEW} T ${PUSHED}`);
      expect(tags()['keyrot:cancelled']).toBeUndefined();
      expect(aws.stageHolder('AWSPENDING')).toBe('T');
      expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
      // Act 2: the target is back.
      down = false;
      const result = await abandonRotation(deps, config, 'ci');
      // Assess 2: only hook is pushed again, then the rotation is cancelled.
      expect(result).toStrictEqual({
        userName: 'ci',
        secretName: 'keyrot/ci',
        abandonedKeyId: NEW,
        currentKeyId: OLD,
        restoredTargets: ['hook'],
      });
      expect(repo.pushed).toEqual([OLD]);
      expect(hook.pushed).toEqual([OLD, OLD]);
      expect(tags()['keyrot:target:hook']).toBe(`${OLD} V1 ${NOW}`);
      expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
      expect(keys()).toEqual([`${OLD} Active`, `${NEW} Active`]);
    });

    it('between recording the cancellation and taking AWSPENDING off: the second run only takes it off', async () => {
      unfinishedRotation();
      aws.state.failOnce.set('UpdateSecretVersionStage', awsError('InternalServiceError', 500));
      const repo = fakeTarget('repo');
      const { deps } = mockDeps([repo.target]);
      const config = configWith('repo');
      await expect(abandonRotation(deps, config, 'ci')).rejects.toThrow(/InternalServiceError/);
      expect(repo.pushed).toEqual([OLD]);
      expect(tags()['keyrot:cancelled']).toBe(`T ${NOW}`);
      expect(aws.stageHolder('AWSPENDING')).toBe('T');

      const result = await abandonRotation(deps, config, 'ci');

      expect(result).toStrictEqual({
        userName: 'ci',
        secretName: 'keyrot/ci',
        abandonedKeyId: NEW,
        currentKeyId: OLD,
        restoredTargets: [],
      });
      expect(repo.pushed).toEqual([OLD]);
      expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
      expect(keys()).toEqual([`${OLD} Active`, `${NEW} Active`]);
    });

    it('before recording the cancellation: nothing is cancelled, and the second run cancels', async () => {
      unfinishedRotation();
      aws.state.failOnce.set('TagResource', awsError('ThrottlingException'));
      const { deps } = mockDeps();
      await expect(abandonRotation(deps, defaultConfig, 'ci')).rejects.toThrow(/ThrottlingException/);
      expect(aws.stageHolder('AWSPENDING')).toBe('T');
      expect(aws.secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);

      await abandonRotation(deps, defaultConfig, 'ci');

      expect(aws.stageHolder('AWSPENDING')).toBeUndefined();
      expect(tags()['keyrot:cancelled']).toBe(`T ${NOW}`);
    });
  });

  it('lets the next rotation start afresh with a new token and key, never the abandoned version’s key', async () => {
    // Prepare: a locally driven rotation stops at hook's verify; it is abandoned.
    aws.addKey(OLD);
    aws.addSecret({ V1: [OLD, ['AWSCURRENT']] }, { 'keyrot:cutover': `V1 ${EARLIER}` });
    let verifies = false;
    const hook = fakeTarget('hook', {
      verify: async () => {
        if (!verifies) throw new Error('the consumer did not start');
      },
    });
    const { deps, clock } = mockDeps([hook.target]);
    const config = configWith('hook');
    await expect(rotateUser(deps, config, 'ci')).rejects.toThrow(TargetError);
    const abandonedToken = aws.stageHolder('AWSPENDING');
    const abandoned = aws.keyAt('AWSPENDING');
    const result = await abandonRotation(deps, config, 'ci');
    expect(result).toMatchObject({ abandonedKeyId: abandoned, currentKeyId: OLD, restoredTargets: ['hook'] });
    // Retirement deletes the abandoned key in time; the next rotation comes days later.
    aws.state.keys = aws.state.keys.filter((k) => k.id !== abandoned);
    await clock.sleep(10 * 86_400_000);
    verifies = true;
    // Act
    const next = await rotateUser(deps, config, 'ci');
    // Assess: a new key under a new token, pushed and made current; the abandoned version is left alone.
    const nextToken = aws.stageHolder('AWSCURRENT');
    expect(nextToken).not.toBe(abandonedToken);
    expect(next.accessKeyId).not.toBe(abandoned);
    expect(next.resumed).toBe(false);
    expect(aws.keyAt('AWSCURRENT')).toBe(next.accessKeyId);
    expect(aws.keyAt('AWSPREVIOUS')).toBe(OLD);
    expect(hook.pushed).toEqual([abandoned, OLD, next.accessKeyId]);
    expect(aws.state.secret?.versions.get(abandonedToken ?? '')?.stages).toEqual([]);
    expect(keys()).toEqual([`${OLD} Active`, `${next.accessKeyId} Active`]);
  });

  describe('refusals change nothing', () => {
    it('no unfinished rotation and no target behind', async () => {
      aws.addKey(OLD);
      aws.addSecret(
        { V1: [OLD, ['AWSCURRENT', 'AWSPENDING']] },
        { 'keyrot:cutover': `V1 ${EARLIER}`, 'keyrot:target:repo': `${OLD} V1 ${EARLIER}` },
      );
      const repo = fakeTarget('repo');
      const { deps } = mockDeps([repo.target]);
      const error = await rejectionOf(abandonRotation(deps, configWith('repo'), 'ci'));
      expect(error).toBeInstanceOf(KeyrotError);
      expect(error.message).toBe('ci has no unfinished rotation to abandon.');
      expect(repo.pushed).toEqual([]);
      expectNothingChanged(aws);
    });

    it('a user without a keyrot secret', async () => {
      aws.addKey(OLD);
      const { deps } = mockDeps();
      const error = await rejectionOf(abandonRotation(deps, defaultConfig, 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toBe('ci has no keyrot secret (keyrot/ci), so there is no rotation to abandon.');
      expectNothingChanged(aws);
    });

    it('a secret whose keyrot tags disagree with IAM', async () => {
      unfinishedRotation({ 'keyrot:user': 'other' });
      const repo = fakeTarget('repo');
      const { deps } = mockDeps([repo.target]);
      const error = await rejectionOf(abandonRotation(deps, configWith('repo'), 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toMatch(/^Secret keyrot\/ci does not match IAM \(keyrot:user is "other"/);
      expect(repo.pushed).toEqual([]);
      expectNothingChanged(aws);
    });

    it('a user outside the machine path', async () => {
      unfinishedRotation();
      aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/people/' };
      const { deps } = mockDeps();
      const error = await rejectionOf(abandonRotation(deps, defaultConfig, 'ci'));
      expect(error).toBeInstanceOf(NotManagedError);
      expect(error.message).toMatch(/^ci is not a machine user/);
      expectNothingChanged(aws);
    });

    it.each([
      [
        'the first rotation, its version current and its cut-over not recorded',
        { T: [NEW, ['AWSCURRENT', 'AWSPENDING']] },
      ],
      [
        'a rotation that moved AWSCURRENT and crashed before recording the cut-over',
        { V1: [OLD, ['AWSPREVIOUS']], T: [NEW, ['AWSCURRENT', 'AWSPENDING']] },
      ],
    ] as [string, Record<string, [string, string[]]>][])(
      '%s: there is no earlier key to go back to',
      async (_what, versions) => {
        aws.addKey(OLD);
        aws.addKey(NEW, { created: START });
        aws.addSecret(versions, { 'keyrot:target:repo': `${OLD} V1 ${EARLIER}` });
        const repo = fakeTarget('repo');
        const { deps } = mockDeps([repo.target]);
        const error = await rejectionOf(abandonRotation(deps, configWith('repo'), 'ci'));
        expect(error).toBeInstanceOf(KeyrotError);
        expect(error.message).toBe(
          'The unfinished rotation of ci already made its version T AWSCURRENT, so there is no earlier key to go back to. Finish it instead: keyrot rotate --user ci.',
        );
        expect(repo.pushed).toEqual([]);
        expectNothingChanged(aws);
      },
    );

    it.each([
      [
        'deleted',
        () => {
          aws.state.keys = aws.state.keys.filter((k) => k.id !== OLD);
        },
        `AWSCURRENT of keyrot/ci holds ${OLD}, which IAM does not have`,
      ],
      [
        'inactive',
        () => {
          const old = aws.key(OLD);
          if (old) old.status = 'Inactive';
        },
        `AWSCURRENT's key ${OLD} is inactive in IAM, so consumers using the secret fail`,
      ],
    ])(
      'a current key that was %s: the targets keep the working pending key',
      async (_what, breakIt, detail) => {
        unfinishedRotation();
        breakIt();
        const repo = fakeTarget('repo');
        const { deps } = mockDeps([repo.target]);
        const error = await rejectionOf(abandonRotation(deps, configWith('repo'), 'ci'));
        expect(error).toBeInstanceOf(BrokenUserError);
        expect(error.message).toBe(
          `Can't abandon the rotation of ci: ${detail}. The targets would get that key back in place of the pending one; finish the rotation instead: keyrot rotate --user ci.`,
        );
        expect(repo.pushed).toEqual([]);
        expect(tags()['keyrot:target:repo']).toBe(`${NEW} T ${PUSHED}`);
        expect(aws.stageHolder('AWSPENDING')).toBe('T');
        expectNothingChanged(aws);
      },
    );

    it.each([
      ['only a pending version (a first rotation not made current)', { T: [NEW, ['AWSPENDING']] }],
      ['no version at all', {}],
    ] as [string, Record<string, [string, string[]]>][])(
      '%s: no current key to go back to',
      async (_what, versions) => {
        aws.addKey(NEW, { created: START });
        aws.addSecret(versions);
        const { deps } = mockDeps();
        const error = await rejectionOf(abandonRotation(deps, defaultConfig, 'ci'));
        expect(error).toBeInstanceOf(KeyrotError);
        expect(error.message).toBe(
          'keyrot/ci has no current key to go back to; finish the rotation instead: keyrot rotate --user ci.',
        );
        expectNothingChanged(aws);
      },
    );
  });
});
