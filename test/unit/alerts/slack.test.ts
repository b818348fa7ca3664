import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_KINDS, type Alert } from '../../../lib/alerts/alerts.js';
import {
  SLACK_LIMITS,
  SlackChannelGoneError,
  SlackWebhookError,
  slackChannelFor,
  slackMessage,
  slackNotifier,
} from '../../../lib/alerts/slack.js';
import { alertOfEveryKind } from '../../helpers/alert-samples.js';
import { blockKitProblem, startFakeSlack } from '../../helpers/fake-slack.js';

let slack: Awaited<ReturnType<typeof startFakeSlack>>;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(() => slack.stop());

const samples = alertOfEveryKind();
const stamped = (alert: Alert): Alert => ({ ...alert, at: '2026-06-01T12:00:00.000Z', stage: 'prod' });

function notifier(
  tokens: Record<string, string>,
  overrides: Partial<Parameters<typeof slackNotifier>[0]> = {},
) {
  const sleeps: number[] = [];
  const secretsRead: string[] = [];
  const channels = Object.fromEntries(
    Object.keys(tokens).map((name) => [name, { webhookSecretId: `keyrot-slack/${name}` }]),
  );
  const n = slackNotifier({
    channels,
    defaultChannel: Object.keys(tokens)[0],
    timeoutMs: 2_000,
    webhookUrl: async (secretId) => {
      secretsRead.push(secretId);
      return slack.url(tokens[secretId.replace('keyrot-slack/', '')] ?? 'none');
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  return { notifier: n, sleeps, secretsRead };
}

describe('Slack Block Kit messages', () => {
  it.each(ALERT_KINDS)(
    'renders a %s alert that Slack accepts: header, account/user/key, what happened, what to do, context',
    async (kind) => {
      // Prepare
      const alert = stamped(samples[kind]);
      const { notifier: n } = notifier({ 'data-alerts': `ok-${kind}` });
      // Act
      expect(await n.send(alert)).toBe('sent');
      // Assess
      const got = slack.received.find((r) => r.token === `ok-${kind}`)?.payload;
      const blocks = got?.blocks ?? [];
      const types = blocks.map((b) => b.type);
      expect(types[0]).toBe('header');
      expect(types.at(-1)).toBe('context');
      expect(types.slice(1, -1).every((t) => t === 'section')).toBe(true);
      const header = (blocks[0]?.text as { text: string } | undefined)?.text ?? '';
      expect(header).toContain(alert.severity.toUpperCase());
      const fields = ((blocks[1]?.fields ?? []) as Array<{ text: string }>).map((f) => f.text);
      expect(fields).toContain('*Account*\n123456789012');
      if (alert.userName) expect(fields).toContain(`*User*\n${alert.userName}`);
      if (alert.accessKeyId) {
        expect(fields).toContain(`*Key*\n…${alert.accessKeyId.slice(-4)}`);
      }
      const text = JSON.stringify(blocks);
      expect(text).toContain('*What happened*');
      expect(text).toContain('*What to do*');
      expect(alert.command).toMatch(/^keyrot /);
      expect(text).toContain(`\`\`\`${alert.command}\`\`\``);
      const context = ((blocks.at(-1)?.elements ?? []) as Array<{ text: string }>)[0]?.text;
      expect(context).toBe('2026-06-01T12:00:00.000Z · stage prod · keyrot');
      expect(got?.text).toBe(alert.title);
      expect(slack.problems).toEqual([]);
    },
  );

  it('shows who still uses a held key', () => {
    const text = JSON.stringify(slackMessage(stamped(samples['key-in-use'])).blocks);
    expect(text).toContain('*Who still uses it* (CloudTrail, last 90 days)');
    expect(text).toContain(
      '`203.0.113.7` · aws-cli/2.15.0 Python/3.11 Linux · GetCallerIdentity, ListBuckets',
    );
  });

  it("keeps within Slack's limits: 3,000 characters a section, 150 a header, 50 blocks", async () => {
    const huge: Alert = {
      ...stamped(samples.findings),
      title: 'x'.repeat(5_000),
      lines: Array.from({ length: 400 }, (_, i) => `line ${i} <with> & markup`),
      nextSteps: Array.from({ length: 200 }, () => 'do this. '.repeat(5)),
      kind: 'findings',
    };
    const message = slackMessage(huge);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const block of message.blocks) {
      const t = (block as { text?: { text: string } }).text?.text ?? '';
      expect(t.length).toBeLessThanOrEqual(block.type === 'header' ? 150 : 3000);
    }
    expect(JSON.stringify(message)).toContain('line 0 &lt;with&gt; &amp; markup');
    expect(blockKitProblem(message)).toBeUndefined();
    const { notifier: n } = notifier({ big: 'ok-big' });
    expect(await n.send(huge)).toBe('sent');
    expect(slack.problems).toEqual([]);
  });

  it('the fake refuses what Slack refuses (so the tests above can fail)', () => {
    expect(blockKitProblem({ blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toBe(
      'invalid_blocks',
    );
    expect(
      blockKitProblem({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'z'.repeat(3001) } }] }),
    ).toBe('invalid_blocks');
    expect(blockKitProblem({ blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }] })).toBe(
      'invalid_blocks',
    );
    expect(blockKitProblem({ blocks: [{ type: 'table' }] })).toBe('invalid_blocks');
    expect(blockKitProblem({})).toBe('no_text');
  });
});

describe('Slack webhook delivery', () => {
  it('routes by the slack-channel tag, then the default channel, else skips', async () => {
    const options = {
      channels: { a: { webhookSecretId: 's/a' }, b: { webhookSecretId: 's/b' } },
      defaultChannel: 'a',
    };
    expect(slackChannelFor({ slackChannel: 'b' }, options)).toBe('b');
    expect(slackChannelFor({ slackChannel: 'nope' }, options)).toBe('a');
    expect(slackChannelFor({}, options)).toBe('a');
    expect(slackChannelFor({}, { channels: options.channels })).toBeUndefined();
    const { notifier: n, secretsRead } = notifier({ a: 'ok-a', b: 'ok-b' }, { defaultChannel: undefined });
    expect(await n.send({ ...samples.drift, slackChannel: 'b' })).toBe('sent');
    expect(await n.send({ ...samples.drift, slackChannel: undefined })).toBe('skipped');
    expect(secretsRead).toEqual(['keyrot-slack/b']);
  });

  it('waits Retry-After on 429 and then delivers', async () => {
    const { notifier: n, sleeps } = notifier({ c: 'limited-2' });
    expect(await n.send(samples.rollback)).toBe('sent');
    expect(slack.attempts.get('limited-2')).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('gives up on 429 after maxAttempts, or when Retry-After is longer than it may wait', async () => {
    const { notifier: n } = notifier({ c: 'limited-9' }, { maxAttempts: 2 });
    const error = await n.send(samples.rollback).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackWebhookError);
    expect((error as SlackWebhookError).status).toBe(429);
    expect(slack.attempts.get('limited-9')).toBe(2);
    const { notifier: impatient, sleeps } = notifier({ c: 'limited-5' }, { maxRetryAfterSeconds: 0 });
    await expect(impatient.send(samples.rollback)).rejects.toThrow('HTTP 429 rate_limited');
    expect(sleeps).toEqual([]);
  });

  it.each([
    ['missing', 404, 'channel_not_found'],
    ['archived', 410, 'channel_is_archived'],
  ])(
    'a %s channel (%i) is a clear error, sent once, never retried, and never shows the URL',
    async (token, status, body) => {
      const { notifier: n, sleeps } = notifier({ ops: token });
      const error = await n.send(samples.drift).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlackChannelGoneError);
      expect((error as SlackChannelGoneError).status).toBe(status);
      expect((error as Error).message).toBe(
        `Slack channel ops: the webhook is gone (HTTP ${status} ${body}). Create a new incoming webhook for the channel and store its URL in secret keyrot-slack/ops, or route the users elsewhere (alerts.slack.channels, the slack-channel tag).`,
      );
      expect((error as Error).message).not.toContain('/services/');
      expect(slack.attempts.get(token)).toBe(1);
      expect(sleeps).toEqual([]);
    },
  );

  it('times out a webhook that never answers, tries once more, and says so without the URL', async () => {
    const { notifier: n } = notifier({ ops: 'slow' }, { timeoutMs: 150 });
    const started = Date.now();
    const error = await n.send(samples.drift).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackWebhookError);
    expect((error as Error).message).toBe('Slack channel ops: no answer within 150 ms');
    expect(slack.attempts.get('slow')).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
