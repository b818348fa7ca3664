/**
 * Issue 9's "what was found" list, one regression test per item, each through the CLI a user runs,
 * against moto, asserting on IAM and Secrets Manager state. Every test seeds its own users.
 */
import { CreateAccessKeyCommand, CreateUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { describeSecret } from '../../lib/secret/secret.js';
import { signWith } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';
import { manualClock } from '../helpers/clock.js';
import { expectConverged, keyIds, secretNames, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const arnOf = (user: string, path = '/machine/') => `arn:aws:iam::123456789012:user${path}${user}`;
const at = (days: number, hours = 0) =>
  new Date(Date.now() + days * DAY_MS + hours * 3_600_000).toISOString();
/** Secret keys the test holds, as consumers would; none may ever appear in keyrot's output. */
const secretKeys: string[] = [];

/** A user with one key that a consumer has just used; returns the key id. */
async function userWithUsedKey(userName: string, path = '/machine/'): Promise<string> {
  await clients.iam.send(
    new CreateUserCommand({ UserName: userName, Path: path, Tags: [{ Key: 'owner', Value: 't' }] }),
  );
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  secretKeys.push(AccessKey?.SecretAccessKey ?? '');
  await signWith(endpoint(), AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');
  return AccessKey?.AccessKeyId ?? '';
}

/** A consumer of the secret's stage signs a call with the key it holds. */
async function consumerUses(userName: string, stage: string): Promise<string> {
  const value = await stageValue(clients, `keyrot/${userName}`, stage);
  if (!value) throw new Error(`no ${stage} for ${userName}`);
  secretKeys.push(value.SecretAccessKey);
  await signWith(endpoint(), value.AccessKeyId, value.SecretAccessKey);
  return value.AccessKeyId;
}

async function cli(...argv: string[]) {
  const result = await runCli(...argv);
  for (const secret of secretKeys) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
  return result;
}

describe('1. a rollback, then a rotation', () => {
  it('never treats the AWSPREVIOUS key a consumer uses as an orphan, then or later', async () => {
    // Prepare: rotate twice (the pre-keyrot key deactivated by hand in between, and idle past
    // idleDaysBeforeDeactivate, 10, by day 11), then roll back.
    const original = await userWithUsedKey('rolled');
    expect((await cli('rotate', '--user', 'rolled')).code).toBe(0);
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'rolled', AccessKeyId: original, Status: 'Inactive' }),
    );
    expect((await cli('rotate', '--user', 'rolled', '--now', at(11))).code).toBe(0);
    expect((await cli('rollback', '--user', 'rolled', '--now', at(11))).code).toBe(0);
    const newer = await consumerUses('rolled', 'AWSPREVIOUS');
    const before = await keyIds(clients, 'rolled');
    // Act: rotate now, and once any attempt would count as abandoned.
    const now = await cli('rotate', '--user', 'rolled', '--now', at(11));
    const later = await cli('rotate', '--user', 'rolled', '--now', at(11, 1.5));
    // Assess: no slot (both keys active and in use), said plainly; the newer key is untouched.
    for (const run of [now, later]) {
      expect(run.code).toBe(4);
      expect(run.stderr).not.toContain('not stored yet');
      expect(run.stderr).toMatch(/has no free key slot/);
    }
    expect(await keyIds(clients, 'rolled')).toEqual(before);
    expect(before).toContainEqual({ id: newer, status: 'Active' });
  });
});

describe('2. a current version that names a key IAM does not have', () => {
  it('is reported broken by status, rollback and retire, and none of the real keys is touched', async () => {
    const original = await userWithUsedKey('forged-current');
    expect((await cli('rotate', '--user', 'forged-current')).code).toBe(0);
    // A hand edit: AWSCURRENT now names a key that does not exist.
    const current = await stageValue(clients, 'keyrot/forged-current', 'AWSCURRENT');
    await clients.secrets.send(
      new PutSecretValueCommand({
        SecretId: 'keyrot/forged-current',
        SecretString: JSON.stringify({ ...current, AccessKeyId: 'AKIAFORGED0000000000' }),
        VersionStages: ['AWSCURRENT'],
      }),
    );
    const before = await keyIds(clients, 'forged-current');
    expect(before.map((k) => k.id)).toContain(original);

    const rollback = await cli('rollback', '--user', 'forged-current', '--now', at(0));
    expect(rollback.code).toBe(5);
    expect(rollback.stderr).toContain('AKIAFORGED0000000000, which IAM does not have');
    for (const day of [8, 16]) {
      const retire = await cli('retire', '--now', at(day));
      expect(retire.code).toBe(5);
      expect(retire.stderr).toMatch(/forged-current is broken: .*None of its keys was touched/);
    }
    const status = await cli('status');
    expect(status.code).toBe(5);
    expect(status.stdout).toMatch(/forged-current +BROKEN/);
    expect(status.stdout).toContain('Fix: keyrot rotate --user forged-current');
    expect(await keyIds(clients, 'forged-current')).toEqual(before);
  });
});

describe('3. a forged secret', () => {
  it('never makes keyrot create a key for a human, whatever the tags say', async () => {
    await userWithUsedKey('human-bob', '/');
    await clients.secrets.send(
      new CreateSecretCommand({
        Name: 'keyrot/human-bob',
        Tags: [
          { Key: 'keyrot:user', Value: 'human-bob' },
          { Key: 'keyrot:user-arn', Value: arnOf('human-bob') },
        ],
      }),
    );
    const before = await keyIds(clients, 'human-bob');
    const run = await cli('rotate', '--user', 'human-bob');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'keyrot: human-bob is not a machine user (IAM path /); keyrot only manages users under /machine/.\n',
    );
    expect(await keyIds(clients, 'human-bob')).toEqual(before);
  });

  it('refuses a machine user whose secret tags disagree with IAM, naming the mismatch, changing nothing', async () => {
    await userWithUsedKey('retagged');
    expect((await cli('rotate', '--user', 'retagged')).code).toBe(0);
    await clients.secrets.send(
      new TagResourceCommand({
        SecretId: 'keyrot/retagged',
        Tags: [{ Key: 'keyrot:user-arn', Value: arnOf('retagged', '/machine/other/') }],
      }),
    );
    const before = await keyIds(clients, 'retagged');
    const versions = (await describeSecret(clients.secrets, 'keyrot/retagged')).versions;
    const run = await cli('rotate', '--user', 'retagged');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `keyrot:user-arn is "${arnOf('retagged', '/machine/other/')}", IAM says ${arnOf('retagged')}`,
    );
    expect(await keyIds(clients, 'retagged')).toEqual(before);
    expect((await describeSecret(clients.secrets, 'keyrot/retagged')).versions).toEqual(versions);
    const status = await cli('status');
    expect(status.code).toBe(5);
    expect(status.stdout).toMatch(/retagged +UNREADABLE .*does not match IAM/);
  });
});

describe('4. --compromised in every state', () => {
  it('works in the grace period: clears the non-current key, rotates, and deactivates the leaked one', async () => {
    const original = await userWithUsedKey('leaky');
    expect((await cli('rotate', '--user', 'leaky')).code).toBe(0);
    const leaked = await consumerUses('leaky', 'AWSCURRENT');
    const run = await cli('rotate', '--user', 'leaky', '--compromised');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`leaky: deactivated and deleted ${original} first, to free a key slot`);
    const current = await expectConverged(clients, endpoint(), 'leaky', arnOf('leaky'), []);
    expect(await keyIds(clients, 'leaky')).toEqual(
      expect.arrayContaining([
        { id: current.AccessKeyId, status: 'Active' },
        { id: leaked, status: 'Inactive' },
      ]),
    );
    expect((await keyIds(clients, 'leaky')).map((k) => k.id)).not.toContain(original);
  });

  it('asks which key leaked when it can not tell, leaving no empty secret; with --key it goes ahead', async () => {
    const first = await userWithUsedKey('two-keys');
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'two-keys' }));
    secretKeys.push(AccessKey?.SecretAccessKey ?? '');
    const second = AccessKey?.AccessKeyId ?? '';
    const refused = await cli('rotate', '--user', 'two-keys', '--compromised');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--compromised --key ACCESS_KEY_ID');
    expect(await secretNames(clients)).not.toContain('keyrot/two-keys');
    expect(await keyIds(clients, 'two-keys')).toHaveLength(2);

    const run = await cli('rotate', '--user', 'two-keys', '--compromised', '--key', second);
    expect(run.code).toBe(0);
    const current = await expectConverged(clients, endpoint(), 'two-keys', arnOf('two-keys'), [first]);
    const keys = await keyIds(clients, 'two-keys');
    expect(keys.map((k) => k.id)).not.toContain(second);
    expect(keys.filter((k) => k.status === 'Active').map((k) => k.id)).toEqual([current.AccessKeyId]);
  });
});

describe('5. --now on commands that change state', () => {
  it('is refused against real AWS before any call, and still allowed for dry runs and plans', async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'https://iam.amazonaws.com';
    try {
      for (const argv of [
        ['retire', '--now', '2030-01-09'],
        ['rotate', '--due', '--now', '2030-01-09'],
        ['rollback', '--user', 'x', '--now', '2030-01-09'],
      ]) {
        const run = await cli(...argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/--now is refused for "keyrot \w+" against real AWS/);
      }
    } finally {
      process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});

describe('6. making room', () => {
  it('keeps a key retirement just deactivated as the rollback reserve, and says so when it deletes one', async () => {
    const original = await userWithUsedKey('roomy');
    expect((await cli('rotate', '--user', 'roomy')).code).toBe(0);
    expect((await cli('retire', '--user', 'roomy', '--now', at(11))).code).toBe(0);
    expect(await keyIds(clients, 'roomy')).toContainEqual({ id: original, status: 'Inactive' });
    // The day after: the reserve stays, and the rotation says why.
    const early = await cli('rotate', '--user', 'roomy', '--now', at(12));
    expect(early.code).toBe(4);
    expect(early.stderr).toContain('rollback reserve');
    expect(await keyIds(clients, 'roomy')).toContainEqual({ id: original, status: 'Inactive' });
    // After deleteAfterDays it may go, and the output names it.
    const late = await cli('rotate', '--user', 'roomy', '--now', at(19));
    expect(late.code).toBe(0);
    expect(late.stdout).toContain(`roomy: deleted the inactive key ${original} to make room`);
  });
});

describe('7. status', () => {
  it('names a garbage current version without hiding the healthy users', async () => {
    await userWithUsedKey('healthy');
    await userWithUsedKey('garbled');
    for (const u of ['healthy', 'garbled']) expect((await cli('rotate', '--user', u)).code).toBe(0);
    await clients.secrets.send(
      new PutSecretValueCommand({
        SecretId: 'keyrot/garbled',
        SecretString: 'not json at all',
        VersionStages: ['AWSCURRENT'],
      }),
    );
    const run = await cli('status');
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(/healthy +AKIA\w+ /);
    expect(run.stdout).toMatch(/garbled +BROKEN .*does not hold a keyrot credential/);
  });
});

describe('8. keyrot reports its own grace period as no problem', () => {
  it('plans no two-active-keys finding and no blocked rotation right after a rotation', async () => {
    await userWithUsedKey('graceful');
    expect((await cli('rotate', '--user', 'graceful')).code).toBe(0);
    const run = await cli('plan', '--json', '--now', at(100));
    const plan = JSON.parse(run.stdout) as { findings: Array<{ userName: string; code: string }> };
    const codes = plan.findings.filter((f) => f.userName === 'graceful').map((f) => f.code);
    expect(codes).not.toContain('two-active-keys');
    expect(codes).toContain('stale-key'); // 100 days on, the new key itself is due: real news
  });
});

describe('9. errors name what is wrong', () => {
  it.each([
    [['rotate', '--user', 'ghost'], 2, 'keyrot: IAM has no user named "ghost".'],
    [
      ['rollback', '--user', 'no-secret-yet'],
      2,
      'keyrot: no-secret-yet has no keyrot secret (keyrot/no-secret-yet)',
    ],
    [['retire', '--user', 'ghost'], 2, 'keyrot: IAM has no user named "ghost".'],
    [['retire', '--user', 'human-eve'], 2, 'keyrot: human-eve is not a machine user (IAM path /)'],
    [['status', '--user', 'human-eve'], 2, 'keyrot: human-eve is not a machine user (IAM path /)'],
  ])('%j exits %i: %s', async (argv, code, message) => {
    await clients.iam
      .send(new CreateUserCommand({ UserName: 'human-eve', Path: '/' }))
      .catch(() => undefined);
    await clients.iam
      .send(new CreateUserCommand({ UserName: 'no-secret-yet', Path: '/machine/' }))
      .catch(() => undefined);
    const run = await cli(...argv);
    expect(run.code).toBe(code);
    expect(run.stderr.startsWith(message)).toBe(true);
  });
});

describe('10. parallel onboarding of a user with no keys', () => {
  /**
   * On Secrets Manager only one PutSecretValue can store a value under a token, so one racer wins
   * (PutSecretValue, ClientRequestToken). moto 5.2.1 lets every racer overwrite a pending version
   * and answers the first AWSCURRENT move with an HTML 500; test/helpers/moto-scoped-auth/
   * rotation_shape.py makes it follow the documentation, so the end state is AWS's: one stored key,
   * AWSCURRENT on it, and no key that no version holds.
   */
  it('leaves at most two keys, a working AWSCURRENT, and no key that no version holds', async () => {
    await clients.iam.send(new CreateUserCommand({ UserName: 'keyless', Path: '/machine/' }));
    const deps = (start = new Date()) => rotationDeps(clients, manualClock(start), defaultConfig);
    const runs = await Promise.allSettled(
      Array.from({ length: 10 }, () => rotateUser(deps(), defaultConfig, 'keyless')),
    );
    const outcomes = runs.map((r) =>
      r.status === 'rejected' ? (String(r.reason).split(':')[0] ?? '') : 'ok',
    );
    // Losers say a rotation is in progress (or meet an emulator 5xx): nothing else goes wrong.
    expect(
      outcomes.every((o) => /^(ok|RotationInProgressError|SyntaxError|AwsServiceError)$/.test(o)),
      outcomes.join(),
    ).toBe(true);
    expect(outcomes.filter((o) => o === 'RotationInProgressError').length).toBeGreaterThan(0);
    // The next scheduled run, once an unstored key counts as abandoned, cleans up.
    await rotateUser(deps(new Date(Date.now() + 20 * 60_000)), defaultConfig, 'keyless').catch(
      (e: unknown) => e,
    );
    // Every loser deleted the key it made, never stored: at most two keys (the next run rotated once
    // more), AWSCURRENT's working, the other AWSPREVIOUS's, none that no version holds.
    await expectConverged(clients, endpoint(), 'keyless', arnOf('keyless'), []);
  });
});

describe('10. a user keyrot has not onboarded, with both key slots active', () => {
  it('status gives advice that works: free a slot by hand, then rotate; keyrot deactivates neither active key itself', async () => {
    const used = await userWithUsedKey('two-active');
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'two-active' }));
    secretKeys.push(AccessKey?.SecretAccessKey ?? '');
    const spare = AccessKey?.AccessKeyId ?? '';
    const before = await keyIds(clients, 'two-active');

    const status = await cli('status', '--user', 'two-active');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(
      `not onboarded, and both key slots are taken by active keys: deactivate the one no consumer uses (aws iam update-access-key --user-name two-active --access-key-id ID --status Inactive; keyrot plan shows each key's last use), then keyrot rotate --user two-active`,
    );
    // The plain advice would fail: rotate refuses (exit 4) and changes nothing.
    const refused = await cli('rotate', '--user', 'two-active');
    expect(refused.code).toBe(4);
    expect(await keyIds(clients, 'two-active')).toEqual(before);

    // Following the advice works: the unused key deactivated by a person, then keyrot rotates.
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'two-active', AccessKeyId: spare, Status: 'Inactive' }),
    );
    const rotated = await cli('rotate', '--user', 'two-active');
    expect(rotated.code).toBe(0);
    const after = await keyIds(clients, 'two-active');
    expect(after.find((k) => k.id === used)?.status).toBe('Active');
    expect(after.map((k) => k.id)).not.toContain(spare);
    expect(after).toHaveLength(2);
    const onboarded = await cli('status', '--user', 'two-active');
    expect(onboarded.stdout).not.toContain('not onboarded');
  });
});
