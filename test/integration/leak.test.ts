/**
 * The leak response on moto, through `keyrot respond --event FILE` with AWS's sample Health event
 * pointed at real keys: what it rotates, what it only reports, and that a duplicate changes nothing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { createSecret } from '../../lib/rotation/steps.js';
import { derivedToken, describeSecret } from '../../lib/secret/secret.js';
import { signWith } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';
import { manualClock } from '../helpers/clock.js';
import { expectConverged, keyIds, secretNames, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const arnOf = (user: string) => `arn:aws:iam::123456789012:user/machine/${user}`;
const dir = mkdtempSync(join(tmpdir(), 'keyrot-leak-'));
const sample = JSON.parse(
  readFileSync(new URL('../fixtures/health-exposed-event.json', import.meta.url), 'utf8'),
) as { detail: Record<string, unknown> };
const secretKeys: string[] = [];

/** AWS's sample event, naming the given keys; written to a file as `keyrot respond` reads it. */
function eventFile(name: string, ...keyIds: string[]): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      ...sample,
      detail: { ...sample.detail, affectedEntities: keyIds.map((entityValue) => ({ entityValue })) },
    }),
  );
  return path;
}

async function userWithKey(userName: string, path = '/machine/'): Promise<string> {
  await clients.iam.send(new CreateUserCommand({ UserName: userName, Path: path }));
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  secretKeys.push(AccessKey?.SecretAccessKey ?? '');
  await signWith(endpoint(), AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');
  return AccessKey?.AccessKeyId ?? '';
}

async function respond(file: string) {
  const run = await runCli('respond', '--event', file);
  for (const secret of secretKeys) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
  return run;
}

describe('keyrot respond', () => {
  it('rotates a managed user whose current key leaked, deactivates it, and a duplicate changes nothing', async () => {
    await userWithKey('leaked-ci');
    expect((await runCli('rotate', '--user', 'leaked-ci')).code).toBe(0);
    const exposed = (await stageValue(clients, 'keyrot/leaked-ci', 'AWSCURRENT'))?.AccessKeyId ?? '';
    const file = eventFile('managed', exposed);

    const run = await respond(file);
    expect(run.code).toBe(0);
    const current = await expectConverged(clients, endpoint(), 'leaked-ci', arnOf('leaked-ci'), []);
    expect(current.AccessKeyId).not.toBe(exposed);
    expect(await keyIds(clients, 'leaked-ci')).toContainEqual({ id: exposed, status: 'Inactive' });
    expect(run.stdout).toContain(
      `keyrot: leaked-ci's key ${exposed} leaked; rotated to ${current.AccessKeyId}`,
    );
    expect(run.stdout).toContain('AWSCompromisedKeyQuarantineV3');

    const keysAfter = await keyIds(clients, 'leaked-ci');
    const again = await respond(file);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already handled');
    expect(await keyIds(clients, 'leaked-ci')).toEqual(keysAfter);
  });

  it('onboards and rotates a machine user keyrot did not manage yet', async () => {
    const exposed = await userWithKey('new-leaker');
    const run = await respond(eventFile('unmanaged', exposed));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('onboarded the user and rotated it');
    await expectConverged(clients, endpoint(), 'new-leaker', arnOf('new-leaker'), [exposed]);
    expect(await keyIds(clients, 'new-leaker')).toContainEqual({ id: exposed, status: 'Inactive' });
  });

  it("only reports a person's key and a key it can't find, touching nothing", async () => {
    const human = await userWithKey('person', '/');
    const before = await keyIds(clients, 'person');
    const run = await respond(eventFile('human', human, 'AKIAUNKNOWN000000000'));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`keyrot: person's key ${human} leaked; a person must act`);
    expect(run.stdout).toContain('keyrot never touches a person');
    expect(run.stdout).toContain('keyrot: leaked key AKIAUNKNOWN000000000 not found');
    expect(await keyIds(clients, 'person')).toEqual(before);
    expect(await secretNames(clients)).not.toContain('keyrot/person');
  });

  it('finishes a rotation that was under way, then takes the exposed key out', async () => {
    const exposed = await userWithKey('mid-rotation');
    expect((await runCli('rotate', '--user', 'mid-rotation')).code).toBe(0);
    const current = (await stageValue(clients, 'keyrot/mid-rotation', 'AWSCURRENT'))?.AccessKeyId ?? '';
    // The pre-keyrot key was retired by hand; then a rotation started and stopped after createSecret
    // (eleven days on, past idleDaysBeforeDeactivate 10, so the idle inactive key makes room): its key
    // is stored as AWSPENDING.
    await clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'mid-rotation', AccessKeyId: exposed, Status: 'Inactive' }),
    );
    const deps = rotationDeps(clients, manualClock(new Date(Date.now() + 11 * 86_400_000)), defaultConfig);
    const snapshot = await describeSecret(clients.secrets, 'keyrot/mid-rotation');
    const { value: pending } = await createSecret(deps, {
      secretId: snapshot.arn,
      token: derivedToken(snapshot),
    });
    const run = await respond(eventFile('mid', current));
    expect(run.code).toBe(0);
    const after = await expectConverged(clients, endpoint(), 'mid-rotation', arnOf('mid-rotation'), []);
    expect(after.AccessKeyId).toBe(pending.AccessKeyId);
    const keys = await keyIds(clients, 'mid-rotation');
    expect(keys.filter((k) => k.status === 'Active').map((k) => k.id)).toEqual([pending.AccessKeyId]);
    expect(keys.map((k) => k.id)).not.toContain(exposed);
  });

  it('refuses a malformed event with exit 2, changing nothing', async () => {
    const exposed = await userWithKey('untouched');
    const before = await keyIds(clients, 'untouched');
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        ...sample,
        detail: {
          ...sample.detail,
          eventTypeCode: 'AWS_EC2_X',
          affectedEntities: [{ entityValue: exposed }],
        },
      }),
    );
    const run = await respond(path);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^keyrot: Not an AWS Health exposed-credentials event \(detail\.eventTypeCode/,
    );
    expect(await keyIds(clients, 'untouched')).toEqual(before);
    const missing = await respond(join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `keyrot: There is no file ${join(dir, 'nope.json')}. Pass the path of a saved AWS Health event (JSON, as EventBridge delivers it).\n`,
    );
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{ not json');
    const unreadable = await respond(notJson);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(
      /^keyrot: Cannot read the event .*not-json\.json: .*Pass the event JSON/,
    );
  });
});
