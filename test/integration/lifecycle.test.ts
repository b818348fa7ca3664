import { CreateAccessKeyCommand, DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { type Clock, DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { KeyrotError } from '../../lib/errors.js';
import { retireAll, retireUser } from '../../lib/retirement/retire.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { emergencyRotate } from '../../lib/rotation/emergency.js';
import { rollbackUser } from '../../lib/rotation/rollback.js';
import { describeSecret } from '../../lib/secret/secret.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import { manualClock } from '../helpers/clock.js';
import { crashAfterCall, InjectedCrash } from '../helpers/crash.js';
import { expectConverged, keyIds, secretNames, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const arnOf = (user: string) => `arn:aws:iam::123456789012:user/machine/${user}`;
const clients = createClients();

/**
 * moto stamps last use with the real time and can't be told otherwise, so simulated day 0 is three
 * real days ago: a consumer using the old key now uses it on day 3, and later days are in the future.
 */
const DAY0 = new Date(Date.now() - 3 * DAY_MS);
const onDay = (day: number): Clock => manualClock(new Date(DAY0.getTime() + day * DAY_MS));
const dayDate = (day: number) => new Date(DAY0.getTime() + day * DAY_MS);

/** The same user's secret key for a key id, kept by the test (keyrot never prints it). */
const secretsOf = new Map<string, string>();

async function seedWithSecrets(userName: string, path = '/machine/'): Promise<string> {
  await seedUsers(clients.iam, endpoint(), [{ userName, path, tags: { owner: 't' } }]);
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  secretsOf.set(AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');
  await signWith(endpoint(), AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');
  return AccessKey?.AccessKeyId ?? '';
}

async function humanState() {
  return { keys: await keyIds(clients, 'alice') };
}

/** Invariants at every stop: a working AWSCURRENT key, at most 2 keys, nothing orphaned, nothing outside the path changed. */
async function invariants(user: string, allowed: string[], human: unknown) {
  await expectConverged(clients, endpoint(), user, arnOf(user), allowed);
  expect(await humanState()).toEqual(human);
  expect((await secretNames(clients)).filter((n) => n.includes('alice'))).toEqual([]);
}

describe('the key lifecycle, day by day', () => {
  let human: unknown;
  let old: string;
  let current: string;

  beforeAll(async () => {
    await seedUsers(clients.iam, endpoint(), [{ userName: 'alice', path: '/', keys: [{ used: true }] }]);
    human = await humanState();
    old = await seedWithSecrets('ci');
  });

  it('day 0: rotation makes a new key current; the old key stays active', async () => {
    current = (await rotateUser(rotationDeps(clients, onDay(0), defaultConfig), defaultConfig, 'ci'))
      .accessKeyId;
    expect((await describeSecret(clients.secrets, 'keyrot/ci')).cutover?.at).toEqual(dayDate(0));
    expect(await keyIds(clients, 'ci')).toEqual(
      expect.arrayContaining([
        { id: old, status: 'Active' },
        { id: current, status: 'Active' },
      ]),
    );
    await invariants('ci', [old], human);
  });

  it('day 3: the old key is still used, so it is held and reported, not deactivated', async () => {
    // A consumer that has not moved yet uses the old key (moto records now = day 3).
    expect(await signWith(endpoint(), old, secretsOf.get(old) ?? '')).toBe(arnOf('ci'));
    const result = await retireUser({ clients, clock: onDay(3) }, defaultConfig, 'ci', dayDate(3));
    expect(result?.decisions.find((d) => d.accessKeyId === old)).toMatchObject({
      kind: 'hold',
      role: 'pre-keyrot',
    });
    expect(result?.applied).toEqual([]);
    expect(await keyIds(clients, 'ci')).toContainEqual({ id: old, status: 'Active' });
    await invariants('ci', [old], human);
  });

  it('day 8: the old key has been idle for 5 days and replaced for 8, so it is deactivated', async () => {
    const results = await retireAll({ clients, clock: onDay(8) }, defaultConfig, dayDate(8));
    expect(results).toHaveLength(1);
    expect(await keyIds(clients, 'ci')).toContainEqual({ id: old, status: 'Inactive' });
    expect((await describeSecret(clients.secrets, 'keyrot/ci')).tags[`keyrot:deactivated:${old}`]).toBe(
      dayDate(8).toISOString(),
    );
    await invariants('ci', [old], human);
  });

  it('day 14: inactive for 6 days, it waits', async () => {
    const result = await retireUser({ clients, clock: onDay(14) }, defaultConfig, 'ci', dayDate(14));
    expect(result?.decisions.find((d) => d.accessKeyId === old)?.kind).toBe('wait');
    expect(await keyIds(clients, 'ci')).toContainEqual({ id: old, status: 'Inactive' });
  });

  it('day 16: inactive for 8 days, it is deleted and its records go with it', async () => {
    await retireUser({ clients, clock: onDay(16) }, defaultConfig, 'ci', dayDate(16));
    expect(await keyIds(clients, 'ci')).toEqual([{ id: current, status: 'Active' }]);
    expect(
      Object.keys((await describeSecret(clients.secrets, 'keyrot/ci')).tags).filter((t) => t.includes(old)),
    ).toEqual([]);
    await invariants('ci', [], human);
  });

  it('never retires the only key, nor anything on later days', async () => {
    const result = await retireUser({ clients, clock: onDay(400) }, defaultConfig, 'ci', dayDate(400));
    expect(result?.decisions).toEqual([
      { accessKeyId: current, role: 'current', kind: 'keep', reason: 'held by AWSCURRENT' },
    ]);
    await invariants('ci', [], human);
  });
});

describe('a retire run that crashes after any AWS call, then runs again', () => {
  for (const stage of ['deactivate', 'delete'] as const) {
    it(`converges when ${stage === 'deactivate' ? 'deactivating' : 'deleting'}`, async () => {
      const prepare = async (user: string) => {
        const old = await seedWithSecrets(user);
        await rotateUser(rotationDeps(clients, onDay(0), defaultConfig), defaultConfig, user);
        if (stage === 'delete')
          await retireUser({ clients, clock: onDay(10) }, defaultConfig, user, dayDate(10));
        return old;
      };
      const when = stage === 'deactivate' ? 10 : 20;
      const cleanUser = `retire-clean-${stage}`;
      await prepare(cleanUser);
      const counted = crashAfterCall(Number.POSITIVE_INFINITY);
      await retireUser(
        { clients: counted.clients, clock: onDay(when) },
        defaultConfig,
        cleanUser,
        dayDate(when),
      );
      const expected = await keyIds(clients, cleanUser);
      for (let n = 1; n <= counted.calls.length; n++) {
        const user = `retire-crash-${stage}-${n}`;
        const old = await prepare(user);
        const crashing = crashAfterCall(n);
        await expect(
          retireUser({ clients: crashing.clients, clock: onDay(when) }, defaultConfig, user, dayDate(when)),
        ).rejects.toBeInstanceOf(InjectedCrash);
        await invariants(user, [old], await humanState());
        // The next run converges to what a clean run leaves (a day later at the most).
        await retireUser({ clients, clock: onDay(when + 8) }, defaultConfig, user, dayDate(when + 8));
        const after = await keyIds(clients, user);
        if (stage === 'delete')
          expect(after, `crash after call ${n} (${counted.calls[n - 1]})`).toHaveLength(expected.length);
        else
          expect(after.find((k) => k.id === old)?.status ?? 'deleted', `crash after call ${n}`).not.toBe(
            'Active',
          );
        await invariants(user, [old], await humanState());
      }
    });
  }
});

describe('rollback', () => {
  it('makes the previous key current again, reactivating it, and queues the newer key for retirement', async () => {
    const original = await seedWithSecrets('rb');
    const first = await rotateUser(rotationDeps(clients, onDay(0), defaultConfig), defaultConfig, 'rb');
    await clients.iam.send(new DeleteAccessKeyCommand({ UserName: 'rb', AccessKeyId: original }));
    const second = await rotateUser(rotationDeps(clients, onDay(30), defaultConfig), defaultConfig, 'rb');
    await retireUser({ clients, clock: onDay(40) }, defaultConfig, 'rb', dayDate(40)); // deactivates `first`
    expect(await keyIds(clients, 'rb')).toContainEqual({ id: first.accessKeyId, status: 'Inactive' });

    const result = await rollbackUser(rotationDeps(clients, onDay(41), defaultConfig), defaultConfig, 'rb');

    expect(result).toMatchObject({
      restoredKeyId: first.accessKeyId,
      reactivated: true,
      replacedKeyId: second.accessKeyId,
      completed: false,
    });
    expect((await stageValue(clients, 'keyrot/rb', 'AWSCURRENT'))?.AccessKeyId).toBe(first.accessKeyId);
    expect((await stageValue(clients, 'keyrot/rb', 'AWSPREVIOUS'))?.AccessKeyId).toBe(second.accessKeyId);
    await expectConverged(clients, endpoint(), 'rb', arnOf('rb'), []);
    const snapshot = await describeSecret(clients.secrets, 'keyrot/rb');
    expect(snapshot.versions.size).toBe(2);
    expect(snapshot.tags[`keyrot:deactivated:${first.accessKeyId}`]).toBeUndefined();
    // The newer key is now the one retirement takes care of.
    const later = await retireUser({ clients, clock: onDay(50) }, defaultConfig, 'rb', dayDate(50), {
      dryRun: true,
    });
    expect(later?.decisions.find((d) => d.accessKeyId === second.accessKeyId)).toMatchObject({
      role: 'previous',
      kind: 'deactivate',
    });
  });

  it('is refused once the previous key is gone, changing nothing', async () => {
    const current = await stageValue(clients, 'keyrot/rb', 'AWSCURRENT');
    const previous = await stageValue(clients, 'keyrot/rb', 'AWSPREVIOUS');
    await clients.iam.send(
      new DeleteAccessKeyCommand({ UserName: 'rb', AccessKeyId: previous?.AccessKeyId ?? '' }),
    );
    const before = await describeSecret(clients.secrets, 'keyrot/rb');
    await expect(
      rollbackUser(rotationDeps(clients, onDay(60), defaultConfig), defaultConfig, 'rb'),
    ).rejects.toThrow(
      new KeyrotError(
        `Can't roll back rb: the previous key ${previous?.AccessKeyId} no longer exists (retirement deleted it). Rotate instead: keyrot rotate --user rb.`,
      ),
    );
    expect(await describeSecret(clients.secrets, 'keyrot/rb')).toEqual(before);
    expect((await stageValue(clients, 'keyrot/rb', 'AWSCURRENT'))?.AccessKeyId).toBe(current?.AccessKeyId);
  });
});

describe('emergency rotation', () => {
  it('deactivates the old key at once although it is still in use', async () => {
    const old = await seedWithSecrets('leaked');
    expect(await signWith(endpoint(), old, secretsOf.get(old) ?? '')).toBe(arnOf('leaked'));
    const result = await emergencyRotate(
      rotationDeps(clients, onDay(0), defaultConfig),
      defaultConfig,
      'leaked',
    );
    expect(result.deactivated).toEqual([old]);
    expect(await keyIds(clients, 'leaked')).toEqual(
      expect.arrayContaining([
        { id: old, status: 'Inactive' },
        { id: result.accessKeyId, status: 'Active' },
      ]),
    );
    await expectConverged(clients, endpoint(), 'leaked', arnOf('leaked'), [old]);
  });

  it('with --delete-old, deletes it too', async () => {
    const old = await seedWithSecrets('leaked-2');
    const result = await emergencyRotate(
      rotationDeps(clients, onDay(0), defaultConfig),
      defaultConfig,
      'leaked-2',
      { deleteOld: true },
    );
    expect(result.deleted).toEqual([old]);
    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: 'leaked-2' }),
    );
    expect(AccessKeyMetadata.map((k) => k.AccessKeyId)).toEqual([result.accessKeyId]);
  });
});
