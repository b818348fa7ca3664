import type { Clock } from '../clock.js';
import type { MetricsPort } from '../metrics.js';
import type { Alert } from './alerts.js';
import type { AlertLedger } from './ledger.js';

/** The Notifier port: one way of telling people (SNS, Slack). `skipped`: nothing routes this alert here. */
export interface Notifier {
  /** The metric dimension: `sns`, `slack`. */
  readonly channel: string;
  send(alert: Alert): Promise<'sent' | 'skipped'>;
}

/** The few logger methods alerting uses. */
export interface AlertLog {
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface AlertingDeps {
  notifiers: readonly Notifier[];
  /** Without one, every alert is sent (the CLI without a table). */
  ledger?: AlertLedger;
  metrics: MetricsPort;
  log: AlertLog;
  clock: Clock;
  /** The stage in the context line (`prod`, `cli`). */
  stage: string;
}

export interface AlertSummary {
  alerts: number;
  sent: number;
  deduplicated: number;
  failed: number;
}

/**
 * Sends each alert once per remind window: the ledger claims it (or says it was sent already), then
 * every notifier gets it. Never throws: a failure is logged (without the alert's text beyond its
 * title) and counted in AlertsFailed, and the caller's work goes on. An alert no notifier could
 * deliver is released from the ledger, so the next run tries it again.
 */
export async function sendAlerts(
  deps: AlertingDeps,
  alerts: readonly Alert[],
  /** Adds what is costly to find (CloudTrail usage) to an alert that will be sent, after the ledger's say. */
  enrich: (alert: Alert) => Promise<Alert> = async (alert) => alert,
): Promise<AlertSummary> {
  const summary: AlertSummary = { alerts: alerts.length, sent: 0, deduplicated: 0, failed: 0 };
  if (deps.notifiers.length === 0) return summary;
  for (const raw of alerts) {
    const now = deps.clock.now();
    let alert: Alert = { ...raw, at: now.toISOString(), stage: deps.stage };
    const about = { kind: alert.kind, subject: alert.subject, user: alert.userName, title: alert.title };
    let claimed = false;
    if (deps.ledger) {
      try {
        if (!(await deps.ledger.claim(alert, now))) {
          summary.deduplicated++;
          deps.metrics.add('AlertsDeduplicated', 1);
          continue;
        }
        claimed = true;
      } catch (error) {
        // Better a repeated alert than a lost one: send without the ledger.
        deps.log.warn('alert ledger unavailable; sending without deduplication', {
          ...about,
          error: describe(error),
        });
      }
    }
    try {
      alert = await enrich(alert);
    } catch (error) {
      deps.log.warn('alert sent without its details', { ...about, error: describe(error) });
    }
    let delivered = 0;
    let failedHere = 0;
    for (const notifier of deps.notifiers) {
      try {
        if ((await notifier.send(alert)) === 'sent') {
          delivered++;
          deps.metrics.add('AlertsSent', 1, notifier.channel);
        }
      } catch (error) {
        failedHere++;
        deps.metrics.add('AlertsFailed', 1, notifier.channel);
        deps.log.error('alert not delivered', {
          ...about,
          channel: notifier.channel,
          error: describe(error),
        });
      }
    }
    if (delivered > 0) summary.sent++;
    if (failedHere > 0) summary.failed++;
    if (delivered === 0 && failedHere > 0 && claimed && deps.ledger) {
      try {
        await deps.ledger.release(alert, now);
      } catch (error) {
        deps.log.warn('alert ledger: could not release a failed alert', { ...about, error: describe(error) });
      }
    }
  }
  return summary;
}

/** An error for the log: its name and message, never a response body or request. */
function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}
