import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { createClients, createSnsClient } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { alertQueue } from '../helpers/alerts.js';
import { runCli } from '../helpers/cli.js';
import { manualClock } from '../helpers/clock.js';
import { keyIds, stageValue } from '../helpers/rotation.js';

const clients = createClients();
const context = {
  functionName: 'keyrot-dev-retire',
  awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-retire',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('the retire Lambda and the CLI around retirement', () => {
  it('status and retire --dry-run show what is due without changing anything; the Lambda then deactivates', async () => {
    // Prepare: rotated 10 days ago (simulated); the old key was never used since.
    const [old] = await seedUsers(clients.iam, process.env.AWS_ENDPOINT_URL ?? '', [
      { userName: 'svc', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    const rotated = await rotateUser(
      rotationDeps(clients, manualClock(new Date(Date.now() - 10 * DAY_MS)), defaultConfig),
      defaultConfig,
      'svc',
    );
    await seedUsers(clients.iam, process.env.AWS_ENDPOINT_URL ?? '', [
      { userName: 'waiting', path: '/machine/', keys: [{}] },
    ]);

    const status = await runCli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(
        `svc +${rotated.accessKeyId} +0d +- +${old?.accessKeyId} +pre-keyrot +Active +- +deactivate +replaced on`,
      ),
    );
    expect(status.stdout).toMatch(/waiting +\(no keyrot secret\)/);
    const json = JSON.parse((await runCli('status', '--json', '--user', 'svc')).stdout) as {
      users: Array<{ otherKeys: Array<{ next: string }> }>;
    };
    expect(json.users[0]?.otherKeys[0]?.next).toBe('deactivate');

    const dry = await runCli('retire', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`svc +${old?.accessKeyId} +pre-keyrot +would deactivate`));
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(await keyIds(clients, 'svc')).toContainEqual({ id: old?.accessKeyId, status: 'Active' });

    // Alerts go to an SNS topic; a queue subscribed to it receives what an owner would.
    const sns = createSnsClient();
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'keyrot-dev-alerts' }));
    const queue = await alertQueue(TopicArn, sns);
    vi.stubEnv('ALERT_TOPIC_ARN', TopicArn);

    // Act
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await import('../../functions/retire.js');
    const summary = await handler({} as ScheduledEvent, context);
    vi.restoreAllMocks();
    vi.unstubAllEnvs();

    // Assess
    // Two machine users, one of them onboarded; only that one holds a key besides its current one.
    expect(summary).toEqual({
      machineUsers: 2,
      managed: 1,
      selected: 1,
      users: 1,
      deactivated: 1,
      deleted: 0,
      held: 0,
      escalated: 0,
      kept: 0,
      broken: 0,
      failed: 0,
      alerts: { alerts: 1, sent: 1, deduplicated: 0, failed: 0 },
    });
    const [alert, ...more] = await queue.receive();
    expect(more).toEqual([]);
    expect(alert?.attributes).toEqual({ severity: 'info', kind: 'key-deactivated', owner: 'o', user: 'svc' });
    expect(alert?.subject).toBe(`keyrot: deactivated svc's replaced key ${old?.accessKeyId}`);
    expect(alert?.message).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { title: alert?.subject, nextSteps: [expect.stringContaining('keyrot rollback --user svc')] },
      metadata: {
        additionalContext: { accountId: '123456789012', accessKeyId: old?.accessKeyId, owner: 'o' },
      },
    });
    // Key ids only: no secret key is in the alert.
    const current = await stageValue(clients, 'keyrot/svc', 'AWSCURRENT');
    expect(alert?.raw).not.toContain(current?.SecretAccessKey);
    expect(JSON.stringify(alert?.message)).not.toMatch(/SecretAccessKey|[A-Za-z0-9/+]{40}/);
    expect(await keyIds(clients, 'svc')).toContainEqual({ id: old?.accessKeyId, status: 'Inactive' });
    expect(await keyIds(clients, 'waiting')).toEqual([{ id: expect.any(String), status: 'Active' }]);
  });

  it('rollback and emergency rotation speak plainly on the command line', async () => {
    const rollback = await runCli('rollback', '--user', 'svc');
    expect(rollback).toMatchObject({ code: 1, stdout: '' });
    expect(rollback.stderr).toBe(
      'keyrot: keyrot/svc has no previous version to roll back to: keyrot has stored only one key of svc so far. A key from before keyrot, if the user had one, is unchanged in IAM until retirement takes it out; `keyrot status --user svc` shows the keys.\n',
    );

    const emergency = await runCli('rotate', '--user', 'waiting', '--compromised');
    expect(emergency.code).toBe(0);
    expect(emergency.stdout).toMatch(
      /^waiting: new key AKIA\w+ is AWSCURRENT in keyrot\/waiting \(onboarded\)\nURGENT: the old keys of waiting, AKIA\w+, were deactivated at once, whatever their use\./,
    );
  });
});
