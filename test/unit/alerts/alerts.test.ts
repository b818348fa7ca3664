import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type Alert,
  alertChatMessage,
  alertText,
  MAX_LINES,
  retirementAlerts,
  rotationFailureAlert,
  scanAlerts,
  withOwners,
} from '../../../lib/alerts/alerts.js';
import { snsNotifier, snsSubject } from '../../../lib/alerts/sns.js';
import { BrokenUserError, TargetError } from '../../../lib/errors.js';
import { plan } from '../../../lib/policy/plan.js';
import type { UserRetirement } from '../../../lib/retirement/retire.js';
import { daysAgo, inventory, key, NOW, policy, user } from '../../helpers/builders.js';

const ACCOUNT = '123456789012';

describe('scanAlerts', () => {
  it('sends each owner one digest of their own users, and says nothing when nothing needs a person', () => {
    const account = inventory([
      user({ userName: 'ci', hasConsolePassword: true }), // platform-team
      user({
        userName: 'etl',
        tags: { owner: 'data' },
        keys: [key(), key({ accessKeyId: 'AKIAEXAMPLE000000002' })],
      }),
      user({ userName: 'orphan', tags: {} }),
      user({ userName: 'quiet', tags: { owner: 'quiet-team' } }),
    ]);
    const alerts = scanAlerts(plan(account, policy, NOW));

    expect(alerts.map((a) => [a.owner, a.kind, a.severity, a.userName])).toEqual([
      [undefined, 'findings', 'warning', 'orphan'],
      ['data', 'findings', 'warning', 'etl'],
      ['platform-team', 'findings', 'warning', 'ci'],
    ]);
    const [orphan, data, platform] = alerts;
    expect(platform?.lines).toEqual([
      'ci: a machine user can sign in to the console; delete its login profile',
    ]);
    expect(data?.title).toBe(`keyrot: 1 item needs attention for owner data in ${ACCOUNT}`);
    expect(data?.lines).toEqual(['etl: both key slots hold active keys']);
    expect(orphan?.title).toContain('users without an owner');
    expect(orphan?.nextSteps).toContain('Tag each user with its owner so alerts reach the right team.');
    expect(platform?.threadId).toBe(`keyrot-scan-${ACCOUNT}-platform-team`);

    expect(scanAlerts(plan(inventory([user({ userName: 'quiet' })]), policy, NOW))).toEqual([]);
  });

  it("makes an owner's digest critical when a rotation could not be started", () => {
    const p = plan(
      inventory([user({ userName: 'ci', keys: [key({ createdAt: daysAgo(100) })] })]),
      policy,
      NOW,
    );
    const [alert] = scanAlerts(p, [
      { userName: 'ci', secretName: 'keyrot/ci', outcome: 'failed', error: 'AccessDenied: no' },
    ]);
    expect(alert).toMatchObject({
      kind: 'failure',
      severity: 'critical',
      owner: 'platform-team',
      userName: 'ci',
    });
    expect(alert?.lines[0]).toBe('ci: the rotation could not be started (AccessDenied: no)');
  });

  it(`lists at most ${MAX_LINES} items and says how many more there are`, () => {
    const users = Array.from({ length: MAX_LINES + 5 }, (_, i) =>
      user({
        userName: `human-${i}`,
        path: '/',
        tags: { owner: 'people' },
        keys: [key({ createdAt: daysAgo(200) })],
      }),
    );
    const [alert] = scanAlerts(plan(inventory(users), policy, NOW));
    expect(alert?.title).toBe(`keyrot: ${MAX_LINES + 5} items need attention for owner people in ${ACCOUNT}`);
    expect(alert?.lines).toHaveLength(MAX_LINES + 1);
    expect(alert?.lines.at(-1)).toBe('... and 5 more.');
    expect(alert?.userName).toBeUndefined();
  });
});

const retirement = (overrides: Partial<UserRetirement>): UserRetirement => ({
  userName: 'ci',
  secretName: 'keyrot/ci',
  state: {
    userName: 'ci',
    keys: [
      { accessKeyId: 'AKIAOLD', status: 'Active', createdAt: daysAgo(100), lastUsedAt: daysAgo(1) },
      { accessKeyId: 'AKIANEW', status: 'Active', createdAt: daysAgo(20) },
    ],
    currentKeyId: 'AKIANEW',
    deactivatedAt: {},
    inactiveSeenAt: {},
  },
  decisions: [],
  applied: [],
  ...overrides,
});

describe('retirementAlerts', () => {
  it('warns while a replaced key is in use, escalates it, reports deactivations and failures, with owners', () => {
    const hold = {
      accessKeyId: 'AKIAOLD',
      role: 'pre-keyrot',
      kind: 'hold',
      reason: 'still in use',
    } as const;
    const deactivate = {
      accessKeyId: 'AKIAOLD',
      role: 'previous',
      kind: 'deactivate',
      reason: 'idle',
    } as const;
    const alerts = withOwners(
      retirementAlerts(ACCOUNT, [
        retirement({ decisions: [hold] }),
        retirement({ userName: 'etl', decisions: [{ ...hold, escalate: true }] }),
        retirement({ userName: 'bot', decisions: [deactivate], applied: [deactivate] }),
        retirement({ userName: 'dry', decisions: [deactivate], applied: [] }),
        { userName: 'broken', error: new Error('Secrets Manager is down') },
      ]),
      new Map([
        ['ci', 'platform'],
        ['etl', undefined],
      ]),
    );
    expect(alerts.map((a) => [a.userName, a.kind, a.severity, a.owner])).toEqual([
      ['ci', 'key-in-use', 'warning', 'platform'],
      ['etl', 'key-in-use', 'critical', undefined],
      ['bot', 'key-deactivated', 'info', undefined],
      ['broken', 'failure', 'critical', undefined],
    ]);
    expect(alerts[0]).toMatchObject({
      accessKeyId: 'AKIAOLD',
      title: "keyrot: ci's replaced key AKIAOLD is still in use",
      lines: ['still in use', `Last used ${daysAgo(1).toISOString()}.`],
      threadId: `keyrot-key-${ACCOUNT}-AKIAOLD`,
    });
    expect(alerts[1]?.title).toContain('(escalated)');
    expect(alerts[2]?.nextSteps[0]).toContain('keyrot rollback --user bot');
    expect(alerts[3]?.lines).toEqual(['Secrets Manager is down']);
  });
});

const sample: Alert = {
  kind: 'key-in-use',
  severity: 'critical',
  accountId: ACCOUNT,
  owner: 'platform',
  userName: 'ci',
  accessKeyId: 'AKIAOLD',
  title: "keyrot: ci's replaced key AKIAOLD is still in use",
  lines: ['still in use'],
  nextSteps: ['Move the consumers.'],
  threadId: 't-1',
  subject: 'key#123456789012#AKIAOLD',
  state: 'held',
};

describe('rendering', () => {
  it('as text for e-mail and as the custom-notification JSON of AWS chat integrations', () => {
    expect(alertText(sample)).toBe(
      [
        sample.title,
        '',
        'still in use',
        '',
        'What to do:',
        '- Move the consumers.',
        '',
        `Account ${ACCOUNT}, severity critical, owner platform.`,
      ].join('\n'),
    );
    expect(alertChatMessage(sample)).toEqual({
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: sample.title,
        description: 'still in use',
        nextSteps: ['Move the consumers.'],
        keywords: ['keyrot', 'key-in-use', 'critical'],
      },
      metadata: {
        threadId: 't-1',
        summary: sample.title,
        eventType: 'keyrot:key-in-use',
        additionalContext: {
          accountId: ACCOUNT,
          severity: 'critical',
          owner: 'platform',
          userName: 'ci',
          accessKeyId: 'AKIAOLD',
        },
      },
    });
  });

  it('keeps SNS subjects to 100 printable ASCII characters', () => {
    expect(snsSubject('ok')).toBe('ok');
    expect(snsSubject('naïve\nline')).toBe('na?ve?line');
    const long = snsSubject('x'.repeat(150));
    expect(long).toHaveLength(100);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('snsNotifier', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());
  const topic = `arn:aws:sns:us-east-1:${ACCOUNT}:keyrot-alerts`;

  it('publishes text for e-mail, the chat JSON for everything else, and attributes to filter on', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const notifier = snsNotifier(new SNSClient({}), topic);
    expect(await notifier.send(sample)).toBe('sent');
    expect(await notifier.send({ ...sample, owner: undefined, userName: undefined })).toBe('sent');
    const [first, second] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      TopicArn: topic,
      Subject: sample.title,
      MessageStructure: 'json',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'critical' },
        kind: { DataType: 'String', StringValue: 'key-in-use' },
        owner: { DataType: 'String', StringValue: 'platform' },
        user: { DataType: 'String', StringValue: 'ci' },
      },
    });
    const structure = JSON.parse(first?.Message ?? '');
    expect(structure.email).toBe(alertText(sample));
    expect(JSON.parse(structure.default)).toEqual(alertChatMessage(sample));
    expect(second?.MessageAttributes?.owner?.StringValue).toBe('none');
    expect(second?.MessageAttributes?.user).toBeUndefined();
  });

  it('throws what SNS throws (sendAlerts counts it)', async () => {
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(snsNotifier(new SNSClient({ maxAttempts: 1 }), topic).send(sample)).rejects.toThrow(
      'Rate exceeded',
    );
  });
});

describe('alerts from failures', () => {
  const failure = (error: unknown) => ({
    step: 'setSecret' as const,
    userName: 'ci',
    secretName: 'keyrot/ci',
    token: 'tok-1',
    error,
  });

  it('a failed step names the step, the cause and whether Secrets Manager retries', () => {
    const alert = rotationFailureAlert(ACCOUNT, failure(new Error('boom')), true);
    expect(alert).toMatchObject({
      kind: 'rotation-failed',
      severity: 'critical',
      userName: 'ci',
      command: 'keyrot rotate --user ci',
      subject: `rotation#${ACCOUNT}#ci`,
      state: 'failed:setSecret:tok-1',
    });
    expect(alert.lines).toEqual([
      'Step setSecret of keyrot/ci failed: boom',
      'The old key stays current; no consumer loses a working key.',
      'Secrets Manager retries the rotation; it resumes where it stopped.',
    ]);
    expect(rotationFailureAlert(ACCOUNT, failure(new Error('boom')), false).lines[2]).toBe(
      'Nothing retries it on its own: re-run the rotation once the cause is fixed.',
    );
  });

  it("a target's failure names the target; a broken user says so with its fixing command", () => {
    const pushed = rotationFailureAlert(
      ACCOUNT,
      failure(new TargetError('403', { target: { type: 'github-actions', name: 'deploy' } })),
      true,
    );
    expect(pushed).toMatchObject({
      kind: 'target-push-failed',
      title: `keyrot: pushing ci's new key to github-actions "deploy" failed`,
      state: 'push-failed:unknown:tok-1',
    });
    const broken = rotationFailureAlert(
      ACCOUNT,
      failure(
        new BrokenUserError('ci is broken', {
          reason: 'current-gone',
          detail: 'AWSCURRENT names a deleted key',
          fix: 'keyrot rotate --user ci',
        }),
      ),
      true,
    );
    expect(broken).toMatchObject({
      kind: 'user-broken',
      severity: 'critical',
      title: 'keyrot: ci has no working key',
      lines: ['AWSCURRENT names a deleted key.', 'keyrot touches none of its keys until this is fixed.'],
      nextSteps: ['Fix: keyrot rotate --user ci', 'Then check: keyrot status --user ci'],
      command: 'keyrot rotate --user ci',
    });
  });

  it('retirement reports a broken user, and deletions', () => {
    const alerts = retirementAlerts(ACCOUNT, [
      retirement({
        broken: {
          reason: 'no-current',
          detail: 'keyrot/ci has no AWSCURRENT version',
          fix: 'keyrot rotate --user ci',
        },
      }),
      retirement({
        userName: 'bot',
        decisions: [
          { accessKeyId: 'AKIAOLD', role: 'previous', kind: 'delete', reason: 'inactive for 7 days' },
        ],
        applied: [
          { accessKeyId: 'AKIAOLD', role: 'previous', kind: 'delete', reason: 'inactive for 7 days' },
        ],
      }),
    ]);
    expect(alerts.map((a) => [a.kind, a.userName, a.state])).toEqual([
      ['user-broken', 'ci', expect.any(String)],
      ['key-deleted', 'bot', 'deleted'],
    ]);
  });
});
