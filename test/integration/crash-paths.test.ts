import { randomUUID } from 'node:crypto';
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../lib/aws/clients.js';
import { createClients } from '../../lib/aws/clients.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { emergencyRotate } from '../../lib/rotation/emergency.js';
import { runRotationStep } from '../../lib/rotation/lambda-step.js';
import { rollbackUser } from '../../lib/rotation/rollback.js';
import { STEPS } from '../../lib/rotation/steps.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import { manualClock } from '../helpers/clock.js';
import { crashAfterCall, InjectedCrash } from '../helpers/crash.js';
import { expectConverged, expectKeptAndNew, keyIds, stageValue } from '../helpers/rotation.js';

// Crash injection beyond the rotation driver (rotation.test covers that): rollback, the emergency
// rotation and the Lambda step path are each crashed right after every AWS call they make, then
// retried as an operator (or Secrets Manager) would, and the first promise is checked.

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const arnOf = (user: string) => `arn:aws:iam::123456789012:user/machine/${user}`;
const ABANDONED = 16 * 60_000; // past the default abandonAfterMinutes (15)
const DAY = 86_400_000;
const clients = createClients();
const ROTATE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate';

/** Simulated time: seeded keys are used now, so room is made (and retirement is due) days later. */
const T0 = Date.now();
/** A key used now is idle enough for keyrot to delete it (to make room) this many days later. */
const IDLE = defaultConfig.policy.idleDaysBeforeDeactivate + 1;
const at = (days: number, c: AwsClients = clients) =>
  rotationDeps(c, manualClock(new Date(T0 + days * DAY)), defaultConfig);

async function seedOne(userName: string): Promise<string> {
  const [key] = await seedUsers(clients.iam, endpoint(), [
    { userName, path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
  ]);
  return key?.accessKeyId ?? '';
}

/** Onboarded, then rotated again once the pre-keyrot key was deactivated: AWSPREVIOUS is keyrot's. */
async function twiceRotated(userName: string) {
  const original = await seedOne(userName);
  const first = await rotateUser(at(0), defaultConfig, userName);
  await clients.iam.send(
    new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: original, Status: 'Inactive' }),
  );
  const second = await rotateUser(at(IDLE), defaultConfig, userName);
  return { first: first.accessKeyId, second: second.accessKeyId };
}

/** Onboarded with rotation configured (as the scan leaves it), the pre-keyrot key inactive. */
/**
 * An onboarded user whose pre-keyrot key is retired, and a rotation Secrets Manager has started: the
 * empty AWSPENDING version RotateSecret makes (moto, through rotation_shape.py, makes it as AWS does,
 * then fails to run the function it can't run). Returns that version's id: the token Secrets Manager
 * invokes the four steps with.
 */
async function readyForLambda(userName: string): Promise<string> {
  const original = await seedOne(userName);
  await rotateUser(at(0), defaultConfig, userName);
  await clients.iam.send(
    new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: original, Status: 'Inactive' }),
  );
  const token = randomUUID();
  await clients.secrets
    .send(
      new RotateSecretCommand({
        SecretId: `keyrot/${userName}`,
        ClientRequestToken: token,
        RotationLambdaARN: ROTATE_ARN,
        RotationRules: { AutomaticallyAfterDays: 90 },
      }),
    )
    .catch((error: Error) => expect(error.name).toBe('ResourceNotFoundException'));
  const { VersionIdsToStages = {} } = await clients.secrets.send(
    new DescribeSecretCommand({ SecretId: `keyrot/${userName}` }),
  );
  expect(VersionIdsToStages[token]).toEqual(['AWSPENDING']);
  return token;
}

async function lambdaRotation(userName: string, token: string, deps: ReturnType<typeof at>) {
  for (const Step of STEPS)
    await runRotationStep(deps, defaultConfig, {
      Step,
      SecretId: `keyrot/${userName}`,
      ClientRequestToken: token,
    });
}

/** The AWS calls a clean run makes (its count is the number of crash points). */
async function cleanCalls(run: (c: AwsClients) => Promise<unknown>): Promise<string[]> {
  const { clients: counted, calls } = crashAfterCall(Number.POSITIVE_INFINITY);
  await run(counted);
  return calls;
}

/** Each crash point seeds a user and runs the operation twice: minutes on a loaded machine. */
const SLOW = { timeout: 600_000 };

describe('a crash after any AWS call, then a retry', () => {
  it(
    'rollback: every crash point ends with the previous key current again, no key lost and none made',
    SLOW,
    async () => {
      await twiceRotated('rb-clean');
      const calls = await cleanCalls((c) => rollbackUser(at(IDLE + 1, c), defaultConfig, 'rb-clean'));
      expect(calls.length).toBeGreaterThanOrEqual(4);
      for (let n = 1; n <= calls.length; n++) {
        const user = `rb-${n}`;
        const { first } = await twiceRotated(user);
        const before = await keyIds(clients, user);
        const { clients: crashing } = crashAfterCall(n);
        await expect(
          rollbackUser(at(IDLE + 1, crashing), defaultConfig, user),
          `crash after call ${n} (${calls[n - 1]})`,
        ).rejects.toBeInstanceOf(InjectedCrash);
        // The operator runs it again; a rollback that had finished is not run twice (it would flip back).
        const current = await stageValue(clients, `keyrot/${user}`, 'AWSCURRENT');
        if (n < calls.length || current?.AccessKeyId !== first)
          await rollbackUser(at(IDLE + 1), defaultConfig, user);
        expect((await stageValue(clients, `keyrot/${user}`, 'AWSCURRENT'))?.AccessKeyId).toBe(first);
        await expectConverged(clients, endpoint(), user, arnOf(user), []);
        await expectKeptAndNew(clients, user, before, 'none');
      }
    },
  );

  it(
    'emergency rotation: every crash point ends with one new working current key and every old key out of service',
    SLOW,
    async () => {
      await seedOne('em-clean');
      const calls = await cleanCalls((c) => emergencyRotate(at(0, c), defaultConfig, 'em-clean'));
      expect(calls.length).toBeGreaterThanOrEqual(8);
      for (let n = 1; n <= calls.length; n++) {
        const user = `em-${n}`;
        const original = await seedOne(user);
        const { clients: crashing } = crashAfterCall(n);
        await expect(
          emergencyRotate(at(0, crashing), defaultConfig, user),
          `crash after call ${n} (${calls[n - 1]})`,
        ).rejects.toBeInstanceOf(InjectedCrash);
        // The operator runs it again once a crashed attempt counts as abandoned, naming the leaked
        // key: after a crash mid-way the user may hold it and an unfinished new one.
        const retry = rotationDeps(clients, manualClock(new Date(T0 + ABANDONED)), defaultConfig);
        await emergencyRotate(retry, defaultConfig, user, { leakedKeyId: original });
        const current = await expectConverged(clients, endpoint(), user, arnOf(user), [original]);
        expect(current.AccessKeyId).not.toBe(original);
        // The leaked key is out of service: inactive or gone. Nothing else but the new key is active.
        const keys = await keyIds(clients, user);
        expect(keys.filter((k) => k.status === 'Active').map((k) => k.id)).toEqual([current.AccessKeyId]);
        expect(await signWith(endpoint(), current.AccessKeyId, current.SecretAccessKey)).toBe(arnOf(user));
      }
    },
  );

  it(
    'the Lambda step path: every crash point, retried by Secrets Manager with the same token, ends with exactly one new AWSCURRENT key',
    SLOW,
    async () => {
      const cleanToken = await readyForLambda('lam-clean');
      const calls = await cleanCalls((c) => lambdaRotation('lam-clean', cleanToken, at(IDLE, c)));
      expect(calls.length).toBeGreaterThanOrEqual(8);
      for (let n = 1; n <= calls.length; n++) {
        const user = `lam-${n}`;
        const token = await readyForLambda(user);
        const before = await keyIds(clients, user);
        const { clients: crashing } = crashAfterCall(n);
        await expect(
          lambdaRotation(user, token, at(IDLE, crashing)),
          `crash after call ${n} (${calls[n - 1]})`,
        ).rejects.toBeInstanceOf(InjectedCrash);
        // Secrets Manager retries the rotation with the same token, from the first step (each is idempotent).
        await lambdaRotation(
          user,
          token,
          rotationDeps(clients, manualClock(new Date(T0 + IDLE * DAY + ABANDONED)), defaultConfig),
        );
        await expectConverged(clients, endpoint(), user, arnOf(user), []);
        await expectKeptAndNew(clients, user, before, 'one-current');
      }
    },
  );
});
