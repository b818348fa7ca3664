import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { mapLimit } from '../../lib/concurrency.js';
import { defaultConfig } from '../../lib/config.js';
import { KeyLimitError, NotManagedError, RotationInProgressError } from '../../lib/errors.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { createSecret, finishSecret, setSecret, testSecret } from '../../lib/rotation/steps.js';
import { derivedToken, describeSecret, TAG } from '../../lib/secret/secret.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import { manualClock } from '../helpers/clock.js';
import { crashAfterCall, InjectedCrash } from '../helpers/crash.js';
import { expectConverged, keyIds, secretNames, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const arnOf = (user: string, path = '/machine/') => `arn:aws:iam::123456789012:user${path}${user}`;
const ABANDONED = 16 * 60_000; // past the default abandonAfterMinutes (15)
const clients = createClients();
const depsAt = (start = new Date(), c = clients) => rotationDeps(c, manualClock(start), defaultConfig);
/**
 * Seeded keys are used (signed with) when they are made. A rotation that makes room by deleting one
 * runs this much later, once the key has been idle for idleDaysBeforeDeactivate: the key guard never
 * deletes a key used within that window outside an emergency.
 */
const idleLater = () =>
  new Date(Date.now() + (defaultConfig.policy.idleDaysBeforeDeactivate + 1) * 86_400_000);

async function seedOne(userName: string): Promise<string> {
  const [key] = await seedUsers(clients.iam, endpoint(), [
    { userName, path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
  ]);
  return key?.accessKeyId ?? '';
}

describe('rotation on moto', () => {
  let original: string;
  let first: string;

  beforeAll(async () => {
    original = await seedOne('ci-deploy');
    await seedUsers(clients.iam, endpoint(), [{ userName: 'alice', path: '/', keys: [{}] }]);
  });

  it('onboards and rotates a machine user: the new key authenticates and is AWSCURRENT; the old key stays', async () => {
    // Act
    const result = await rotateUser(depsAt(), defaultConfig, 'ci-deploy');
    first = result.accessKeyId;
    // Assess
    expect(result).toMatchObject({
      userName: 'ci-deploy',
      secretName: 'keyrot/ci-deploy',
      onboarded: true,
      resumed: false,
    });
    const current = await stageValue(clients, 'keyrot/ci-deploy', 'AWSCURRENT');
    expect(current).toMatchObject({ Version: 1, AccessKeyId: first, UserName: 'ci-deploy' });
    expect(await signWith(endpoint(), first, current?.SecretAccessKey ?? '')).toBe(arnOf('ci-deploy'));
    expect((await keyIds(clients, 'ci-deploy')).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: original, status: 'Active' },
        { id: first, status: 'Active' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const snapshot = await describeSecret(clients.secrets, 'keyrot/ci-deploy');
    expect(snapshot.tags[TAG.user]).toBe('ci-deploy');
    expect(snapshot.userArn).toBe(arnOf('ci-deploy'));
    expect(snapshot.cutover?.versionId).toBe(
      [...snapshot.versions].find(([, s]) => s.includes('AWSCURRENT'))?.[0],
    );
  });

  it('refuses a third key while both keys are active, deleting nothing', async () => {
    const before = await keyIds(clients, 'ci-deploy');
    const versionsBefore = (await describeSecret(clients.secrets, 'keyrot/ci-deploy')).versions;
    await expect(rotateUser(depsAt(), defaultConfig, 'ci-deploy')).rejects.toBeInstanceOf(KeyLimitError);
    expect(await keyIds(clients, 'ci-deploy')).toEqual(before);
    expect((await describeSecret(clients.secrets, 'keyrot/ci-deploy')).versions).toEqual(versionsBefore);
  });

  it('makes room by deleting an inactive key the secret does not hold; AWSPREVIOUS keeps the old managed key', async () => {
    // Prepare: the pre-keyrot key has been retired (deactivated).
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'ci-deploy', AccessKeyId: original, Status: 'Inactive' }),
    );
    // Act: today the inactive key was used minutes ago, so it is kept (exit 4, naming why) ...
    await expect(rotateUser(depsAt(), defaultConfig, 'ci-deploy')).rejects.toThrow(
      new RegExp(`keyrot will not delete ${original} of ci-deploy: it was used today`),
    );
    expect((await keyIds(clients, 'ci-deploy')).map((k) => k.id)).toContain(original);
    // ... and once it has been idle long enough, it makes room, and says so.
    const second = await rotateUser(depsAt(idleLater()), defaultConfig, 'ci-deploy');
    expect(second.deletedForRoom).toEqual([original]);
    // Assess
    expect(await keyIds(clients, 'ci-deploy')).toEqual(
      expect.arrayContaining([
        { id: first, status: 'Active' },
        { id: second.accessKeyId, status: 'Active' },
      ]),
    );
    expect((await keyIds(clients, 'ci-deploy')).map((k) => k.id)).not.toContain(original);
    expect((await stageValue(clients, 'keyrot/ci-deploy', 'AWSCURRENT'))?.AccessKeyId).toBe(
      second.accessKeyId,
    );
    expect((await stageValue(clients, 'keyrot/ci-deploy', 'AWSPREVIOUS'))?.AccessKeyId).toBe(first);
  });

  it('never touches a user outside the machine path', async () => {
    const before = await keyIds(clients, 'alice');
    await expect(rotateUser(depsAt(), defaultConfig, 'alice')).rejects.toBeInstanceOf(NotManagedError);
    expect(await keyIds(clients, 'alice')).toEqual(before);
    expect(await secretNames(clients)).toEqual(['keyrot/ci-deploy']);
  });
});

describe('secrets encrypted with a customer-managed KMS key', () => {
  it('onboards into a secret under the configured key, and rotation reads and writes through it', async () => {
    const kms = new KMSClient({});
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'keyrot test key' }));
    const config = { ...defaultConfig, secretKmsKeyId: KeyMetadata?.Arn ?? '' };
    await seedOne('encrypted');
    const result = await rotateUser(
      rotationDeps(clients, manualClock(new Date()), config),
      config,
      'encrypted',
    );
    const { KmsKeyId } = await clients.secrets.send(
      new DescribeSecretCommand({ SecretId: 'keyrot/encrypted' }),
    );
    expect(KmsKeyId).toBe(KeyMetadata?.Arn);
    expect((await stageValue(clients, 'keyrot/encrypted', 'AWSCURRENT'))?.AccessKeyId).toBe(
      result.accessKeyId,
    );
    kms.destroy();
  });
});

describe('rotation steps replayed', () => {
  it('converges when every step runs twice and out of order, and refuses finish before create', async () => {
    const original = await seedOne('replayed');
    await expect(rotateUser(depsAt(), defaultConfig, 'replayed')).resolves.toBeDefined(); // onboard + first rotation
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'replayed', AccessKeyId: original, Status: 'Inactive' }),
    );
    const deps = depsAt(idleLater());
    const snapshot = await describeSecret(clients.secrets, 'keyrot/replayed');
    const token = derivedToken(snapshot);
    const input = { secretId: snapshot.arn, token };
    const userArn = arnOf('replayed');

    await expect(finishSecret(deps, input)).rejects.toThrow(/is not AWSPENDING/);
    const made = await createSecret(deps, input);
    const again = await createSecret(deps, input);
    expect(again).toMatchObject({ value: made.value, created: false, deletedForRoom: [] });
    await setSecret(deps, { ...input, userName: 'replayed' });
    await testSecret(deps, { ...input, userArn });
    await finishSecret(deps, input);
    await finishSecret(deps, input);
    await testSecret(deps, { ...input, userArn });
    await createSecret(deps, input);
    await setSecret(deps, { ...input, userName: 'replayed' });

    const current = await expectConverged(clients, endpoint(), 'replayed', userArn, []);
    expect(current.AccessKeyId).toBe(made.value.AccessKeyId);
    expect(await keyIds(clients, 'replayed')).toHaveLength(2);
  });
});

describe('a crash after any AWS call, then a retry with the same token', () => {
  /** Rotations of a fresh user: `prepare` brings it to the state before the rotation under test. */
  async function cleanCalls(user: string, prepare: (user: string) => Promise<string[]>): Promise<string[]> {
    await prepare(user);
    const { clients: counted, calls } = crashAfterCall(Number.POSITIVE_INFINITY);
    await rotateUser(depsAt(idleLater(), counted), defaultConfig, user);
    return calls;
  }

  const scenarios = {
    /** Onboarding and the first rotation: the user has one pre-keyrot key. */
    first: async (user: string) => [await seedOne(user)],
    /** A later rotation that must make room: the pre-keyrot key is inactive, AWSCURRENT is keyrot's. */
    later: async (user: string) => {
      const original = await seedOne(user);
      await rotateUser(depsAt(), defaultConfig, user);
      await clients.iam.send(
        new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: original, Status: 'Inactive' }),
      );
      return [];
    },
  };

  for (const [name, prepare] of Object.entries(scenarios)) {
    it(`${name} rotation: every crash point converges to one stored, working key and no orphan`, async () => {
      const calls = await cleanCalls(`clean-${name}`, prepare);
      expect(calls.length).toBeGreaterThanOrEqual(7);
      for (let n = 1; n <= calls.length; n++) {
        const user = `crash-${name}-${n}`;
        const allowed = await prepare(user);
        const { clients: crashing } = crashAfterCall(n);
        const start = idleLater();
        await expect(
          rotateUser(depsAt(start, crashing), defaultConfig, user),
          `crash after call ${n} (${calls[n - 1]})`,
        ).rejects.toBeInstanceOf(InjectedCrash);
        const retry = depsAt(new Date(start.getTime() + ABANDONED)); // once an abandoned attempt may be cleaned up
        if (n < calls.length) {
          // Until the cut-over is recorded the driver picks the crashed rotation's token again.
          await rotateUser(retry, defaultConfig, user);
        } else {
          // The crash came after the last call: the rotation is complete. Replaying its token is a no-op.
          const snapshot = await describeSecret(clients.secrets, `keyrot/${user}`);
          const token = snapshot.cutover?.versionId ?? '';
          await createSecret(retry, { secretId: snapshot.arn, token });
          await finishSecret(retry, { secretId: snapshot.arn, token });
          expect(await describeSecret(clients.secrets, `keyrot/${user}`)).toEqual(snapshot);
        }
        await expectConverged(clients, endpoint(), user, arnOf(user), allowed);
      }
    });
  }

  it('an immediate retry after a crash right after CreateAccessKey reports the rotation in progress and deletes nothing', async () => {
    const calls = await cleanCalls('clean-immediate', scenarios.first);
    const n = calls.indexOf('iam:CreateAccessKey') + 1;
    const original = await seedOne('immediate');
    const { clients: crashing } = crashAfterCall(n);
    const start = new Date();
    await expect(rotateUser(depsAt(start, crashing), defaultConfig, 'immediate')).rejects.toBeInstanceOf(
      InjectedCrash,
    );
    const keys = await keyIds(clients, 'immediate');
    expect(keys).toHaveLength(2);

    await expect(
      rotateUser(depsAt(new Date(start.getTime() + 60_000)), defaultConfig, 'immediate'),
    ).rejects.toBeInstanceOf(RotationInProgressError);
    expect(await keyIds(clients, 'immediate')).toEqual(keys);

    await rotateUser(depsAt(new Date(start.getTime() + ABANDONED)), defaultConfig, 'immediate');
    await expectConverged(clients, endpoint(), 'immediate', arnOf('immediate'), [original]);
  });
});

describe('rotations side by side in one process', () => {
  it('40 users rotated 8 at a time all converge (testing one new key never closes the connections of other calls)', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `parallel-${i}`);
    const seeded = await seedUsers(
      clients.iam,
      endpoint(),
      names.map((userName) => ({ userName, path: '/machine/', tags: { owner: 't' }, keys: [{}] })),
    );
    const deps = depsAt();
    const results = await mapLimit(names, 8, (name) =>
      rotateUser(deps, defaultConfig, name).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
    for (const name of names) {
      await expectConverged(
        clients,
        endpoint(),
        name,
        arnOf(name),
        seeded.filter((k) => k.userName === name).map((k) => k.accessKeyId),
      );
    }
  });
});
