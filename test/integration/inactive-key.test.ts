import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { retireUser } from '../../lib/retirement/retire.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';
import { manualClock } from '../helpers/clock.js';
import { keyIds, stageValue } from '../helpers/rotation.js';

/**
 * Request authentication is on for every integration file, and moto runs with
 * test/helpers/moto-scoped-auth, which refuses a request signed with an Inactive key. AWS does
 * (IAM User Guide, "Manage access keys for IAM users": an inactive key can't be used for API calls;
 * STS answers InvalidClientTokenId). moto 5.2.1 alone accepts it.
 */
const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const USER = 'weekly-report';
const ARN = `arn:aws:iam::123456789012:user/machine/${USER}`;
const clients = createClients();
/** Simulated day 0 is three real days ago, so the consumer's last use (now) falls on day 3. */
const DAY0 = new Date(Date.now() - 3 * DAY_MS);
const dayDate = (day: number) => new Date(DAY0.getTime() + day * DAY_MS);

/** A consumer that signs with one fixed key, as a job configured once and never moved would. */
function consumer(accessKeyId: string, secretAccessKey: string) {
  const sts = new STSClient({
    endpoint: endpoint(),
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
  });
  return {
    /** The ARN it authenticates as, or the error name AWS answered with. */
    async call(): Promise<string> {
      return sts.send(new GetCallerIdentityCommand({})).then(
        (identity) => identity.Arn ?? '',
        (error: { name?: string }) => `refused: ${error.name}`,
      );
    },
  };
}

/**
 * IAM is eventually consistent: after a key is reactivated, AWS may refuse it for a few seconds. Polls
 * until it authenticates, up to a bound (moto is consistent at once, so the first call answers).
 */
async function authenticatesWithin(c: ReturnType<typeof consumer>, attempts: number, intervalMs: number) {
  const answers: string[] = [];
  for (let i = 0; i < attempts; i++) {
    answers.push(await c.call());
    if (answers.at(-1) === ARN) return answers;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return answers;
}

describe('a consumer that never moved to the new key', () => {
  let old = '';
  let oldSecret = '';
  let rotated = '';

  beforeAll(async () => {
    // Onboarded: the job was configured by hand with the key keyrot's first rotation stored.
    await seedUsers(clients.iam, endpoint(), [
      { userName: USER, path: '/machine/', tags: { owner: 'data' } },
    ]);
    await rotateUser(rotationDeps(clients, manualClock(dayDate(-90)), defaultConfig), defaultConfig, USER);
    const first = await stageValue(clients, `keyrot/${USER}`, 'AWSCURRENT');
    old = first?.AccessKeyId ?? '';
    oldSecret = first?.SecretAccessKey ?? '';
  });

  it('authenticates with its key before the rotation, and still after it, while the old key is active', async () => {
    const job = consumer(old, oldSecret);
    expect(await job.call()).toBe(ARN);
    const result = await rotateUser(
      rotationDeps(clients, manualClock(dayDate(0)), defaultConfig),
      defaultConfig,
      USER,
    );
    rotated = result.accessKeyId;
    expect(rotated).not.toBe(old);
    expect((await stageValue(clients, `keyrot/${USER}`, 'AWSPREVIOUS'))?.AccessKeyId).toBe(old);
    expect(await job.call()).toBe(ARN);
  });

  it('fails once retirement deactivates the old key (AWS refuses an inactive key)', async () => {
    // It last signed on day 3, so by day 14 the key is idle past idleDaysBeforeDeactivate (10) and is deactivated.
    const report = await retireUser(
      { clients, clock: manualClock(dayDate(14)) },
      defaultConfig,
      USER,
      dayDate(14),
    );
    expect(report?.decisions.find((d) => d.accessKeyId === old)).toMatchObject({ kind: 'deactivate' });
    expect(await keyIds(clients, USER)).toContainEqual({ id: old, status: 'Inactive' });

    expect(await consumer(old, oldSecret).call()).toBe('refused: InvalidClientTokenId');
    // The key is refused, not the account: the new key works.
    const current = await stageValue(clients, `keyrot/${USER}`, 'AWSCURRENT');
    expect(await consumer(current?.AccessKeyId ?? '', current?.SecretAccessKey ?? '').call()).toBe(ARN);
  });

  it('keyrot rollback reactivates it and makes it current again: the consumer works again', async () => {
    const result = await runCli('rollback', '--user', USER, '--now', dayDate(14).toISOString());

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${USER}: rolled back; ${old} (reactivated) is AWSCURRENT in keyrot/${USER} again; ${rotated} is now AWSPREVIOUS and will be retired\n`,
    );
    expect(await keyIds(clients, USER)).toContainEqual({ id: old, status: 'Active' });
    expect((await stageValue(clients, `keyrot/${USER}`, 'AWSCURRENT'))?.AccessKeyId).toBe(old);
    expect((await stageValue(clients, `keyrot/${USER}`, 'AWSPREVIOUS'))?.AccessKeyId).toBe(rotated);
    const answers = await authenticatesWithin(consumer(old, oldSecret), 20, 500);
    expect(answers.at(-1)).toBe(ARN);
  });
});
