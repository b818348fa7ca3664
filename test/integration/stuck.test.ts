import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { systemClock } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { createSecret } from '../../lib/rotation/steps.js';
import { describeSecret, unfinishedToken } from '../../lib/secret/secret.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';
import { keyIds } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const deps = rotationDeps(clients, systemClock, defaultConfig);
const later = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

/** A user rotated once, then a second rotation left after createSecret: AWSPENDING holds a new key. */
async function stuckRotation(userName: string): Promise<{ pendingKey: string; token: string }> {
  await seedUsers(clients.iam, endpoint(), [
    { userName, path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
  ]);
  await rotateUser(deps, defaultConfig, userName);
  // The pre-keyrot key is gone (retired), so the next attempt has a free slot.
  const [, current] = await keyIds(clients, userName);
  for (const k of await keyIds(clients, userName))
    if (k.id !== current?.id)
      await clients.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: k.id }));
  const token = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
  const { value } = await createSecret(deps, { secretId: `keyrot/${userName}`, token });
  return { pendingKey: value.AccessKeyId, token };
}

describe('stuck rotations', () => {
  it('status shows a rotation stuck past rotation.stuckAfterHours; --restart refuses while its key exists', async () => {
    // Prepare
    const { pendingKey, token } = await stuckRotation('held');
    const keysBefore = await keyIds(clients, 'held');
    // Act
    const soon = await runCli('status', '--user', 'held', '--now', later(1));
    const after7h = await runCli('status', '--user', 'held', '--now', later(7));
    const restart = await runCli('rotate', '--user', 'held', '--restart');
    // Assess: in progress, then stuck; the pending key may be at a target, so nothing is cancelled.
    expect(soon.stdout).toMatch(/held +AKIA\w+ +\d+d +in progress/);
    expect(after7h.stdout).toMatch(/held +AKIA\w+ +\d+d +STUCK since \d{4}-\d\d-\d\dT\d\d:\d\dZ/);
    expect(restart.code).toBe(4);
    expect(restart.stderr).toContain(`holds key ${pendingKey}, which exists and may already be at a target`);
    expect(unfinishedToken(await describeSecret(clients.secrets, 'keyrot/held'))).toBe(token);
    expect(await keyIds(clients, 'held')).toEqual(keysBefore);
  });

  it('--restart cancels a stuck attempt whose key is gone, then rotates afresh', async () => {
    // Prepare: the pending key was deleted by hand, so testSecret can never pass.
    const { pendingKey, token } = await stuckRotation('lost');
    await clients.iam.send(new DeleteAccessKeyCommand({ UserName: 'lost', AccessKeyId: pendingKey }));
    // Act
    const restart = await runCli('rotate', '--user', 'lost', '--restart');
    // Assess
    expect(restart.stderr.replace(/^keyrot: using config.*\n/, '')).toBe('');
    expect(restart.code).toBe(0);
    expect(restart.stdout).toContain(
      `lost: cancelled the unfinished rotation (AWSPENDING version ${token}: its key ${pendingKey} no longer exists in IAM).`,
    );
    const snapshot = await describeSecret(clients.secrets, 'keyrot/lost');
    expect(unfinishedToken(snapshot)).toBeUndefined();
    const newKey = /lost: new key (AKIA\w+) is AWSCURRENT/.exec(restart.stdout)?.[1];
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(pendingKey);
    expect((await keyIds(clients, 'lost')).map((k) => k.id)).toContain(newKey);
  });
});
