import type { ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { KeyrotError } from '../errors.js';
import { type Alert, keyTail } from './alerts.js';
import type { Notifier } from './notifier.js';

/** Block Kit limits (Slack's reference): text per section, header text, blocks per message. */
export const SLACK_LIMITS = { sectionText: 3000, headerText: 150, fieldText: 2000, blocks: 50 } as const;

const SEVERITY_LABEL = {
  info: ':information_source: INFO',
  warning: ':warning: WARNING',
  critical: ':rotating_light: CRITICAL',
} as const;

/** Slack mrkdwn needs &, < and > escaped; everything else keyrot writes is literal text. */
function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, SLACK_LIMITS.sectionText) } };
}

/**
 * An alert as a Block Kit message: a header with the severity; the account, user and key (last 4
 * characters); what happened; who still uses the key (held keys); what to do, with the exact keyrot
 * command; a context line with the time and the stage. Within Slack's limits by construction.
 */
export function slackMessage(alert: Alert): { text: string; blocks: KnownBlock[] } {
  const header: HeaderBlock = {
    type: 'header',
    text: {
      type: 'plain_text',
      text: clip(`${SEVERITY_LABEL[alert.severity]} · ${alert.kind}`, SLACK_LIMITS.headerText),
      emoji: true,
    },
  };
  const fields = [
    `*Account*\n${alert.accountId}`,
    ...(alert.userName ? [`*User*\n${mrkdwn(alert.userName)}`] : []),
    ...(alert.accessKeyId ? [`*Key*\n${keyTail(alert.accessKeyId)}`] : []),
    ...(alert.owner ? [`*Owner*\n${mrkdwn(alert.owner)}`] : []),
  ].map((text) => ({ type: 'mrkdwn' as const, text: clip(text, SLACK_LIMITS.fieldText) }));
  const summary: SectionBlock = { ...section(`*${mrkdwn(alert.title)}*`), fields };
  const happened = section(`*What happened*\n${alert.lines.map(mrkdwn).join('\n')}`);
  const heading = alert.kind === 'key-leaked' ? '*What it did*' : '*Who still uses it*';
  const usage = alert.usage
    ? [
        section(
          alert.usage.length === 0
            ? `${heading}\nCloudTrail shows no management event signed with this key in 90 days.`
            : `${heading} (CloudTrail, last 90 days)\n${alert.usage
                .map(
                  (u) =>
                    `• \`${mrkdwn(u.sourceIp)}\` · ${mrkdwn(u.userAgent)} · ${mrkdwn(u.eventNames.join(', '))} · last seen ${u.lastSeen}`,
                )
                .join('\n')}`,
        ),
      ]
    : [];
  const todo = section(
    `*What to do*\n${alert.nextSteps.map((s) => `• ${mrkdwn(s)}`).join('\n')}${alert.command ? `\n\`\`\`${mrkdwn(alert.command)}\`\`\`` : ''}`,
  );
  const context: ContextBlock = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${alert.at ?? new Date().toISOString()} · stage ${mrkdwn(alert.stage ?? 'cli')} · keyrot`,
      },
    ],
  };
  const blocks: KnownBlock[] = [header, summary, happened, ...usage, todo, context];
  return { text: clip(alert.title, SLACK_LIMITS.sectionText), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** Posting to a Slack webhook failed. `status` is Slack's HTTP status, when it answered. */
export class SlackWebhookError extends KeyrotError {
  constructor(
    message: string,
    readonly channel: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SlackWebhookError';
  }
}

/** The channel's webhook is gone (404 channel_not_found / no_service, 410 channel_is_archived): fix config. */
export class SlackChannelGoneError extends SlackWebhookError {
  constructor(message: string, channel: string, status: number) {
    super(message, channel, status);
    this.name = 'SlackChannelGoneError';
  }
}

export interface SlackOptions {
  /** Configured channels by name, each with the secret holding its webhook URL. */
  channels: Readonly<Record<string, { webhookSecretId: string }>>;
  defaultChannel?: string;
  /** Per request. */
  timeoutMs: number;
  /** The webhook URL stored in a secret (the caller caches it). */
  webhookUrl(secretId: string): Promise<string>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Rate-limited (429) posts are tried this many times in all, waiting Retry-After between. */
  maxAttempts?: number;
  /** A Retry-After longer than this is not waited for: the post fails and the next run tries again. */
  maxRetryAfterSeconds?: number;
}

/** The channel an alert goes to: the user's `slack-channel` tag when configured, else the default. */
export function slackChannelFor(
  alert: Pick<Alert, 'slackChannel'>,
  options: Pick<SlackOptions, 'channels' | 'defaultChannel'>,
): string | undefined {
  if (alert.slackChannel !== undefined && options.channels[alert.slackChannel] !== undefined)
    return alert.slackChannel;
  return options.defaultChannel;
}

/**
 * The Slack adapter: posts each alert as Block Kit to its channel's incoming webhook. Slack answers
 * 200 "ok"; 429 carries Retry-After, which is honoured (up to `maxRetryAfterSeconds`); 404 and 410 mean
 * the channel or its webhook is gone, a configuration error that is never retried; other 4xx are
 * refused payloads; 5xx and timeouts are retried once.
 */
export function slackNotifier(options: SlackOptions): Notifier {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const maxAttempts = options.maxAttempts ?? 3;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 30;
  return {
    channel: 'slack',
    async send(alert) {
      const channel = slackChannelFor(alert, options);
      const config = channel === undefined ? undefined : options.channels[channel];
      if (channel === undefined || config === undefined) return 'skipped';
      const url = await options.webhookUrl(config.webhookSecretId);
      const body = JSON.stringify(slackMessage(alert));
      for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
          response = await doFetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            redirect: 'error',
            signal: AbortSignal.timeout(options.timeoutMs),
          });
        } catch (error) {
          const timedOut = error instanceof Error && error.name === 'TimeoutError';
          if (attempt < 2) continue;
          // Never the URL: it is the secret.
          throw new SlackWebhookError(
            timedOut
              ? `Slack channel ${channel}: no answer within ${options.timeoutMs} ms`
              : `Slack channel ${channel}: the webhook could not be reached (${error instanceof Error ? error.name : 'error'})`,
            channel,
            undefined,
            { cause: error instanceof Error ? new Error(error.name) : undefined },
          );
        }
        const text = (await response.text()).slice(0, 200);
        if (response.ok) return 'sent';
        if (response.status === 404 || response.status === 410) {
          throw new SlackChannelGoneError(
            `Slack channel ${channel}: the webhook is gone (HTTP ${response.status} ${text}). Create a new incoming webhook for the channel and store its URL in secret ${config.webhookSecretId}, or route the users elsewhere (alerts.slack.channels, the slack-channel tag).`,
            channel,
            response.status,
          );
        }
        if (response.status === 429 && attempt < maxAttempts) {
          const wait = Number(response.headers.get('retry-after') ?? '1');
          const seconds = Number.isFinite(wait) && wait >= 0 ? wait : 1;
          if (seconds <= maxRetryAfter) {
            await sleep(seconds * 1000);
            continue;
          }
        }
        if (response.status >= 500 && attempt < 2) continue;
        throw new SlackWebhookError(
          `Slack channel ${channel}: HTTP ${response.status} ${text}`,
          channel,
          response.status,
        );
      }
    },
  };
}
