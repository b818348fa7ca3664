import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../lib/alerts/alerts.js';
import { type AlertLedger, isDue, memoryLedger } from '../../../lib/alerts/ledger.js';
import { type AlertingDeps, type Notifier, sendAlerts } from '../../../lib/alerts/notifier.js';
import { DAY_MS, simulatedClock } from '../../../lib/clock.js';
import type { MetricName } from '../../../lib/metrics.js';
import { alertOfEveryKind } from '../../helpers/alert-samples.js';

const samples = alertOfEveryKind();
const held = samples['key-in-use'];
const DAY0 = new Date('2026-06-01T00:00:00Z');
const day = (n: number) => new Date(DAY0.getTime() + n * DAY_MS);

function recorder(outcome: 'sent' | 'skipped' | Error = 'sent', channel = 'fake') {
  const sent: Alert[] = [];
  const notifier: Notifier = {
    channel,
    async send(alert) {
      if (outcome instanceof Error) throw outcome;
      sent.push(alert);
      return outcome;
    },
  };
  return { notifier, sent };
}

function deps(notifiers: Notifier[], now: Date, ledger?: AlertLedger) {
  const metrics: Array<[MetricName, number, string | undefined]> = [];
  const logs: Array<[string, string, Record<string, unknown>]> = [];
  const d: AlertingDeps = {
    notifiers,
    ...(ledger ? { ledger } : {}),
    metrics: { add: (name, value, dimension) => metrics.push([name, value, dimension]) },
    log: {
      warn: (message, extra) => logs.push(['warn', message, extra]),
      error: (message, extra) => logs.push(['error', message, extra]),
    },
    clock: simulatedClock(now),
    stage: 'test',
  };
  return { deps: d, metrics, logs };
}

describe('isDue (the remind rule)', () => {
  const entry = { severity: 1, state: 'held', sentAt: DAY0.getTime() };
  it('sends the first time, again after remindEveryDays, at once when severity rises or the state changes', () => {
    expect(isDue(undefined, held, DAY0, 7)).toBe(true);
    expect(isDue(entry, held, day(6), 7)).toBe(false);
    expect(isDue(entry, held, day(7), 7)).toBe(true);
    expect(isDue(entry, { ...held, severity: 'critical' }, day(1), 7)).toBe(true);
    expect(isDue(entry, { ...held, severity: 'info' }, day(1), 7)).toBe(false);
    expect(isDue(entry, { ...held, state: 'deactivated' }, day(1), 7)).toBe(true);
  });
});

describe('sendAlerts', () => {
  it('stamps time and stage, sends to every notifier, and counts per channel', async () => {
    const sns = recorder('sent', 'sns');
    const slack = recorder('skipped', 'slack');
    const { deps: d, metrics } = deps([sns.notifier, slack.notifier], DAY0);
    expect(await sendAlerts(d, [held, samples.rollback])).toEqual({
      alerts: 2,
      sent: 2,
      deduplicated: 0,
      failed: 0,
    });
    expect(sns.sent.map((a) => [a.kind, a.at, a.stage])).toEqual([
      ['key-in-use', DAY0.toISOString(), 'test'],
      ['rollback', DAY0.toISOString(), 'test'],
    ]);
    expect(metrics).toEqual([
      ['AlertsSent', 1, 'sns'],
      ['AlertsSent', 1, 'sns'],
    ]);
  });

  it('sends nothing, and asks the ledger nothing, without notifiers', async () => {
    const ledger = memoryLedger(7);
    const { deps: d } = deps([], DAY0, ledger);
    expect(await sendAlerts(d, [held])).toEqual({ alerts: 1, sent: 0, deduplicated: 0, failed: 0 });
    expect(ledger.entries.size).toBe(0);
  });

  it('sends the same held key once per remind window, and an escalation at once', async () => {
    const ledger = memoryLedger(7);
    const out = recorder();
    const run = (n: number, alert: Alert = held) =>
      sendAlerts(deps([out.notifier], day(n), ledger).deps, [alert]);
    const sentOn: number[] = [];
    for (let n = 8; n <= 15; n++) if ((await run(n)).sent === 1) sentOn.push(n);
    expect(sentOn).toEqual([8, 15]);
    expect((await run(16, { ...held, severity: 'critical', state: 'held-escalated' })).sent).toBe(1);
    expect((await run(17, { ...held, severity: 'critical', state: 'held-escalated' })).deduplicated).toBe(1);
  });

  it('never throws: a failed notifier is logged and counted, the others still get it, and the ledger forgets it', async () => {
    const ledger = memoryLedger(7);
    const broken = recorder(
      Object.assign(new Error('KMS key disabled'), { name: 'KMSDisabledException' }),
      'sns',
    );
    const { deps: d, metrics, logs } = deps([broken.notifier], DAY0, ledger);
    expect(await sendAlerts(d, [held])).toEqual({ alerts: 1, sent: 0, deduplicated: 0, failed: 1 });
    expect(metrics).toEqual([['AlertsFailed', 1, 'sns']]);
    expect(logs).toEqual([
      [
        'error',
        'alert not delivered',
        {
          kind: 'key-in-use',
          subject: held.subject,
          user: 'ci-deploy',
          title: held.title,
          channel: 'sns',
          error: { name: 'KMSDisabledException', message: 'KMS key disabled' },
        },
      ],
    ]);
    // Released: the next run (same day even) tries again.
    expect(ledger.entries.size).toBe(0);
    const working = recorder();
    expect((await sendAlerts(deps([working.notifier], DAY0, ledger).deps, [held])).sent).toBe(1);
  });

  it('keeps the claim when one notifier of two delivered', async () => {
    const ledger = memoryLedger(7);
    const broken = recorder(new Error('down'), 'slack');
    const ok = recorder('sent', 'sns');
    const { deps: d } = deps([broken.notifier, ok.notifier], DAY0, ledger);
    expect(await sendAlerts(d, [held])).toEqual({ alerts: 1, sent: 1, deduplicated: 0, failed: 1 });
    expect(ledger.entries.has(held.subject)).toBe(true);
  });

  it('sends anyway when the ledger is down: a repeated alert is better than a lost one', async () => {
    const out = recorder();
    const ledger: AlertLedger = {
      claim: async () => {
        throw new Error('ResourceNotFoundException');
      },
      release: async () => undefined,
    };
    const { deps: d, logs } = deps([out.notifier], DAY0, ledger);
    expect((await sendAlerts(d, [held])).sent).toBe(1);
    expect(logs[0]?.[1]).toBe('alert ledger unavailable; sending without deduplication');
  });

  it('enriches only the alerts that will be sent, and sends without the detail when enriching fails', async () => {
    const ledger = memoryLedger(7);
    const out = recorder();
    const asked: string[] = [];
    const enrich = async (alert: Alert) => {
      asked.push(alert.kind);
      if (alert.kind === 'rollback') throw new Error('CloudTrail throttled');
      return { ...alert, lines: [...alert.lines, 'enriched'] };
    };
    await sendAlerts(deps([out.notifier], DAY0, ledger).deps, [held, samples.rollback], enrich);
    await sendAlerts(deps([out.notifier], day(1), ledger).deps, [held], enrich);
    expect(asked).toEqual(['key-in-use', 'rollback']);
    expect(out.sent.map((a) => a.lines.at(-1) === 'enriched')).toEqual([true, false]);
  });
});
