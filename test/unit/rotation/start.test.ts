import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { plan } from '../../../lib/policy/plan.js';
import { startRotations } from '../../../lib/rotation/start.js';
import { awsError } from '../../helpers/aws-errors.js';
import { daysAgo, inventory, key, NOW, user } from '../../helpers/builders.js';
import { describeOutput } from '../../helpers/rotation-mocks.js';

const secrets = mockClient(SecretsManagerClient);
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-prod-rotate';
const stale = [key({ createdAt: daysAgo(100) })];
const due = (...names: string[]) =>
  plan(
    inventory([
      ...names.map((n) => user({ userName: n, keys: stale })),
      user({ userName: 'alice', path: '/', keys: stale }),
    ]),
    defaultConfig,
    NOW,
  );

beforeEach(() => {
  secrets.reset();
  secrets.on(RotateSecretCommand).resolves({});
  secrets.on(CreateSecretCommand).resolves({});
  // The pending version V2 (when there is one) was made an hour before NOW.
  secrets.on(ListSecretVersionIdsCommand).resolves({
    Versions: [
      { VersionId: 'V1', CreatedDate: daysAgo(30) },
      { VersionId: 'V2', CreatedDate: new Date(NOW.getTime() - 3_600_000) },
    ],
  });
});

describe('startRotations', () => {
  it('asks Secrets Manager to rotate a due user whose secret has rotation on, and nobody else', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results).toEqual([{ userName: 'ci', secretName: 'keyrot/ci', outcome: 'started' }]);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 1);
    expect(secrets.commandCalls(RotateSecretCommand)[0]?.args[0].input).toEqual({ SecretId: 'keyrot/ci' });
  });

  it('configures rotation on a secret that has none', async () => {
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }, { rotationEnabled: false }));
    await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: 'keyrot/ci',
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 90 },
    });
  });

  it('onboards a user without a secret: creates it tagged with the user, then rotates it', async () => {
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', 400));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results[0]?.outcome).toBe('onboarded');
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'keyrot/ci',
      Tags: [
        { Key: 'keyrot:user', Value: 'ci' },
        { Key: 'keyrot:user-arn', Value: 'arn:aws:iam::123456789012:user/machine/ci' },
      ],
    });
    expect(secrets).toHaveReceivedCommandWith(RotateSecretCommand, {
      SecretId: 'keyrot/ci',
      RotationLambdaARN: LAMBDA,
    });
  });

  it('reports an unfinished rotation as in progress, and carries on past a failure', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets
      .on(RotateSecretCommand, { SecretId: 'keyrot/a' })
      .rejects(
        Object.assign(awsError('InvalidRequestException'), {
          message: "A previous rotation isn't complete. That rotation will be reattempted.",
        }),
      )
      .on(RotateSecretCommand, { SecretId: 'keyrot/b' })
      .rejects(awsError('AccessDeniedException', 403, 'not allowed'))
      .on(RotateSecretCommand, { SecretId: 'keyrot/c' })
      .resolves({});
    const results = await startRotations(
      new SecretsManagerClient({}),
      due('a', 'b', 'c'),
      defaultConfig,
      LAMBDA,
    );
    expect(results).toEqual([
      { userName: 'a', secretName: 'keyrot/a', outcome: 'in-progress' },
      {
        userName: 'b',
        secretName: 'keyrot/b',
        outcome: 'failed',
        error: 'AccessDeniedException: not allowed',
      },
      { userName: 'c', secretName: 'keyrot/c', outcome: 'started' },
    ]);
  });

  it('starts at most rotation.maxStartsPerRun per run, most overdue first, and queues the rest', async () => {
    // Prepare: 12 due users, keys from 200 to 189 days old; z-oldest is the most overdue.
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', 400));
    const names = Array.from({ length: 12 }, (_, i) =>
      i === 0 ? 'z-oldest' : `u${String(i).padStart(2, '0')}`,
    );
    const pending = plan(
      inventory(names.map((n, i) => user({ userName: n, keys: [key({ createdAt: daysAgo(200 - i) })] }))),
      defaultConfig,
      NOW,
    );
    // Act
    const results = await startRotations(new SecretsManagerClient({}), pending, defaultConfig, LAMBDA);
    // Assess
    expect(defaultConfig.rotation.maxStartsPerRun).toBe(10);
    expect(results.filter((r) => r.outcome === 'onboarded').map((r) => r.userName)).toEqual(
      names.slice(0, 10),
    );
    expect(results.filter((r) => r.outcome === 'queued')).toEqual(
      names.slice(10).map((userName) => ({
        userName,
        secretName: `keyrot/${userName}`,
        outcome: 'queued',
        detail: 'rotation.maxStartsPerRun (10) rotations start per run; this one starts on a later run',
      })),
    );
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 10);
    expect(secrets).toHaveReceivedCommandTimes(DescribeSecretCommand, 10);
  });

  it('counts only rotations it started against the limit', async () => {
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }))
      .on(DescribeSecretCommand, { SecretId: 'keyrot/a' })
      .resolves(describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPENDING'] }));
    const config = { ...defaultConfig, rotation: { ...defaultConfig.rotation, maxStartsPerRun: 1 } };
    const results = await startRotations(new SecretsManagerClient({}), due('a', 'b', 'c'), config, LAMBDA);
    expect(results.map((r) => `${r.userName}:${r.outcome}`)).toEqual([
      'a:in-progress',
      'b:started',
      'c:queued',
    ]);
  });

  it('does not start a rotation while an unfinished one holds the secret (AWSPENDING not current)', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPENDING'] }));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results).toEqual([
      {
        userName: 'ci',
        secretName: 'keyrot/ci',
        outcome: 'in-progress',
        detail: 'an unfinished rotation holds the secret (AWSPENDING version V2)',
      },
    ]);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 0);
  });

  it('reports a rotation whose AWSPENDING version is older than rotation.stuckAfterHours as stuck', async () => {
    // Prepare: V2 has been pending for 7 hours (stuckAfterHours 6).
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPENDING'] }));
    secrets.on(ListSecretVersionIdsCommand).resolves({
      Versions: [{ VersionId: 'V2', CreatedDate: new Date(NOW.getTime() - 7 * 3_600_000) }],
    });
    // Act
    const [result] = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    // Assess
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      outcome: 'stuck',
      detail:
        "the rotation started 2026-06-01T05:00:00.000Z (AWSPENDING version V2) has not finished in 6 hours (rotation.stuckAfterHours); read the rotate function's log, fix the cause, then run `keyrot rotate --user ci` to finish it or `keyrot rotate --user ci --restart` to start over",
    });
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 0);
  });

  it('does not rotate again a user cut over after the credential report was generated', async () => {
    // Prepare: the secret was cut over on 2026-05-01 (describeOutput's cut-over time).
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSPREVIOUS'], V2: ['AWSCURRENT', 'AWSPENDING'] }, { cutover: 'V2' }));
    const client = new SecretsManagerClient({});
    // Act: a report generated before the cut-over, then one generated after it.
    const stale = await startRotations(client, due('ci'), defaultConfig, LAMBDA, {
      reportGeneratedAt: new Date('2026-04-30T22:00:00Z'),
      collectedAt: NOW,
    });
    const fresh = await startRotations(client, due('ci'), defaultConfig, LAMBDA, {
      reportGeneratedAt: new Date('2026-05-01T04:00:00Z'),
      collectedAt: NOW,
    });
    // Assess
    expect(stale).toEqual([
      {
        userName: 'ci',
        secretName: 'keyrot/ci',
        outcome: 'recently-rotated',
        detail: 'rotated at 2026-05-01T00:00:00.000Z, after the key data was read (2026-04-30T22:00:00.000Z)',
      },
    ]);
    expect(fresh.map((r) => r.outcome)).toEqual(['started']);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 1);
  });

  it('starts rotation.startConcurrency rotations at once, never more', async () => {
    // Prepare: 9 due users; DescribeSecret answers only once 3 calls wait together (a barrier), so
    // one start at a time would never get an answer, and a fourth call in flight would be seen.
    const bound = 3;
    const names = Array.from({ length: 9 }, (_, i) => `u${i}`);
    let inFlight = 0;
    let most = 0;
    let waiting: Array<() => void> = [];
    secrets.on(DescribeSecretCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === bound) {
          for (const release of waiting) release();
          waiting = [];
        }
      });
      inFlight--;
      return describeOutput({ V1: ['AWSCURRENT'] });
    });
    const config = { ...defaultConfig, rotation: { ...defaultConfig.rotation, startConcurrency: bound } };
    // Act
    const results = await startRotations(new SecretsManagerClient({}), due(...names), config, LAMBDA);
    // Assess: every start went ahead, in queue order, with exactly `bound` in flight at the most.
    expect(results.map((r) => `${r.userName}:${r.outcome}`)).toEqual(names.map((n) => `${n}:started`));
    expect(most).toBe(bound);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 9);
  });

  it('with starts in flight together, starts the same users as one at a time: a start not made frees its place', async () => {
    // Prepare: maxStartsPerRun 3; a and c are in progress, e fails; the rest can start.
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }))
      .on(DescribeSecretCommand, { SecretId: 'keyrot/a' })
      .resolves(describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPENDING'] }))
      .on(DescribeSecretCommand, { SecretId: 'keyrot/c' })
      .resolves(describeOutput({ V1: ['AWSCURRENT'], V2: ['AWSPENDING'] }));
    secrets.on(RotateSecretCommand, { SecretId: 'keyrot/e' }).rejects(awsError('AccessDeniedException', 403));
    const config = {
      ...defaultConfig,
      rotation: { ...defaultConfig.rotation, maxStartsPerRun: 3, startConcurrency: 8 },
    };
    // Act
    const results = await startRotations(
      new SecretsManagerClient({}),
      due('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
      config,
      LAMBDA,
    );
    // Assess
    expect(results.map((r) => `${r.userName}:${r.outcome}`)).toEqual([
      'a:in-progress',
      'b:started',
      'c:in-progress',
      'd:started',
      'e:failed',
      'f:started',
      'g:queued',
      'h:queued',
    ]);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 4);
  });

  it('encrypts a new secret with the configured customer-managed KMS key', async () => {
    secrets.on(DescribeSecretCommand).rejects(awsError('ResourceNotFoundException', 400));
    const config = { ...defaultConfig, secretKmsKeyId: 'alias/keyrot' };
    await startRotations(new SecretsManagerClient({}), due('ci'), config, LAMBDA);
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'keyrot/ci',
      KmsKeyId: 'alias/keyrot',
    });
  });
});

describe('startRotations: the queue and its edges', () => {
  const started = (results: Array<{ userName: string; outcome: string }>) =>
    results.map((r) => `${r.userName}:${r.outcome}`);

  it('orders the queue by the age of the key to rotate, then by name, whatever the inventory order', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    const aged = (userName: string, days: number) =>
      user({
        userName,
        keys: [key({ accessKeyId: `AKIA${userName.toUpperCase()}`, createdAt: daysAgo(days) })],
      });
    const p = plan(
      inventory([aged('d', 150), aged('b', 200), aged('a', 150), aged('c', 200)]),
      defaultConfig,
      NOW,
    );
    const results = await startRotations(new SecretsManagerClient({}), p, defaultConfig, LAMBDA);
    expect(started(results)).toEqual(['b:started', 'c:started', 'a:started', 'd:started']);
  });

  it.each([
    ['by key id', (n: number) => ({ accessKeyId: `AKIAX${n}` })],
    ['by credential-report slot', (n: number) => ({ accessKeyId: undefined, slot: n as 1 | 2 })],
  ])('dates a user by the key its rotation replaces, not its other key (%s)', async (_how, id) => {
    // x's inactive key is the oldest of all (keys are listed oldest first); the key its rotation
    // replaces is younger than y's.
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    const x = user({
      userName: 'x',
      keys: [
        key({ ...id(1), status: 'Inactive', createdAt: daysAgo(400), lastUsedAt: undefined }),
        key({ ...id(2), createdAt: daysAgo(150) }),
      ],
    });
    const y = user({ userName: 'y', keys: [key({ accessKeyId: 'AKIAY', createdAt: daysAgo(200) })] });
    const p = plan(inventory([x, y]), defaultConfig, NOW);
    expect(p.actions.filter((a) => a.kind === 'rotate').map((a) => a.userName)).toEqual(['x', 'y']);
    const results = await startRotations(new SecretsManagerClient({}), p, defaultConfig, LAMBDA);
    expect(started(results)).toEqual(['y:started', 'x:started']);
  });

  it('starts only rotations: a machine user whose rotation the plan only reports is not started', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    // Both slots hold active keys: the plan reports the stale one instead of rotating.
    const blocked = user({
      userName: 'blocked',
      keys: [
        key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(100) }),
        key({ accessKeyId: 'AKIANEW', createdAt: daysAgo(95) }),
      ],
    });
    const p = plan(inventory([blocked, user({ userName: 'ci', keys: stale })]), defaultConfig, NOW);
    expect(p.actions.some((a) => a.userName === 'blocked' && a.kind === 'report')).toBe(true);
    const results = await startRotations(new SecretsManagerClient({}), p, defaultConfig, LAMBDA);
    expect(started(results)).toEqual(['ci:started']);
    expect(secrets).toHaveReceivedCommandTimes(RotateSecretCommand, 1);
    expect(secrets).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it('without the key data’s age, takes the plan’s time: a cut-over before it is no reason to wait', async () => {
    secrets
      .on(DescribeSecretCommand)
      .resolves(describeOutput({ V1: ['AWSCURRENT'] }, { cutover: 'V1' }))
      .on(DescribeSecretCommand, { SecretId: 'keyrot/later' })
      .resolves({
        ...describeOutput({ V1: ['AWSCURRENT'] }, { name: 'keyrot/later' }),
        Tags: [
          { Key: 'keyrot:user', Value: 'later' },
          { Key: 'keyrot:cutover', Value: `V1 ${NOW.toISOString()}` },
        ],
      });
    const results = await startRotations(
      new SecretsManagerClient({}),
      due('ci', 'later'),
      defaultConfig,
      LAMBDA,
    );
    expect(results).toEqual([
      { userName: 'ci', secretName: 'keyrot/ci', outcome: 'started' },
      {
        userName: 'later',
        secretName: 'keyrot/later',
        outcome: 'recently-rotated',
        detail: `rotated at ${NOW.toISOString()}, after the key data was read (${NOW.toISOString()})`,
      },
    ]);
  });

  it('fails a user whose secret can’t be read, creating nothing', async () => {
    secrets.on(DescribeSecretCommand).rejects(awsError('AccessDeniedException', 400, 'no DescribeSecret'));
    const results = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(results).toEqual([
      {
        userName: 'ci',
        secretName: 'keyrot/ci',
        outcome: 'failed',
        error: 'AccessDeniedException: no DescribeSecret',
      },
    ]);
    expect(secrets).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(secrets).not.toHaveReceivedCommand(RotateSecretCommand);
  });

  it('counts as in progress only Secrets Manager’s refusal of a second rotation, not any error that says so', async () => {
    secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
    secrets
      .on(RotateSecretCommand)
      .rejects(
        awsError('AccessDeniedException', 400, 'not authorized to change the previous rotation settings'),
      );
    const [result] = await startRotations(new SecretsManagerClient({}), due('ci'), defaultConfig, LAMBDA);
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      outcome: 'failed',
      error: 'AccessDeniedException: not authorized to change the previous rotation settings',
    });
  });

  it('names a failure without an error name "Error"', async () => {
    const client = {
      send: async () => {
        throw { message: 'socket closed' };
      },
    } as unknown as SecretsManagerClient;
    const [result] = await startRotations(client, due('ci'), defaultConfig, LAMBDA);
    expect(result).toEqual({
      userName: 'ci',
      secretName: 'keyrot/ci',
      outcome: 'failed',
      error: 'Error: socket closed',
    });
  });
});
