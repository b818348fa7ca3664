import type { Plan } from '../policy/plan.js';
import type { UserRetirement } from '../retirement/retire.js';
import type { StartResult } from '../rotation/start.js';

export type AlertSeverity = 'info' | 'warning' | 'critical';

export type AlertKind =
  /** The scan's findings that need a person, for one owner (keyrot changes nothing for them). */
  | 'findings'
  /** A replaced key is still in use, so retirement holds it; `critical` once escalated. */
  | 'key-in-use'
  /** A replaced key was deactivated: a consumer still on it fails from now on. */
  | 'key-deactivated'
  /** Retirement or the start of a rotation failed for a user. */
  | 'failure'
  /** A machine user whose secret gives it no working key: keyrot touches none of its keys. */
  | 'user-broken'
  /** AWS reported an access key exposed in public; keyrot says what it did and what is left to do. */
  | 'key-leaked';

/**
 * One message for people: what happened, to whom, and what to do. Holds user names and access key
 * ids (not secret), never key material.
 */
export interface Alert {
  kind: AlertKind;
  severity: AlertSeverity;
  accountId: string;
  /** The owner tag of the user(s) concerned; undefined when nobody owns them. */
  owner?: string;
  userName?: string;
  accessKeyId?: string;
  title: string;
  lines: string[];
  nextSteps: string[];
  /** Alerts about the same thing share a thread (chat clients group them). */
  threadId: string;
}

/** A digest lists this many items at most (SNS messages are limited to 256 KB; people read less). */
export const MAX_LINES = 40;

/**
 * The scan's alerts: one digest per owner of what needs a person (the plan's `report` actions, and
 * rotations that could not be started), so each owner hears about their own users only.
 */
export function scanAlerts(plan: Plan, starts: readonly StartResult[] = []): Alert[] {
  const ownerOf = new Map(plan.users.map((u) => [u.userName, u.owner]));
  const byOwner = new Map<string | undefined, { lines: string[]; failed: number; users: Set<string> }>();
  const add = (userName: string, line: string, failed = false) => {
    const owner = ownerOf.get(userName);
    const entry = byOwner.get(owner) ?? { lines: [], failed: 0, users: new Set<string>() };
    entry.lines.push(line);
    entry.users.add(userName);
    if (failed) entry.failed++;
    byOwner.set(owner, entry);
  };
  for (const start of starts) {
    if (start.outcome === 'failed')
      add(
        start.userName,
        `${start.userName}: the rotation could not be started (${start.error ?? 'unknown error'})`,
        true,
      );
  }
  for (const action of plan.actions) {
    if (action.kind === 'report') add(action.userName, `${action.userName}: ${action.reason}`);
  }
  return [...byOwner.entries()]
    .sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))
    .map(([owner, entry]) => {
      const who = owner ? `owner ${owner}` : 'users without an owner';
      const count = entry.lines.length;
      const shown = entry.lines.slice(0, MAX_LINES);
      if (count > MAX_LINES) shown.push(`... and ${count - MAX_LINES} more.`);
      return {
        kind: entry.failed > 0 ? 'failure' : 'findings',
        severity: entry.failed > 0 ? 'critical' : 'warning',
        accountId: plan.accountId,
        ...(owner ? { owner } : {}),
        ...(entry.users.size === 1 ? { userName: [...entry.users][0] } : {}),
        title: `keyrot: ${count} ${count === 1 ? 'item needs' : 'items need'} attention for ${who} in ${plan.accountId}`,
        lines: shown,
        nextSteps: [
          'Run `keyrot plan` for the details of each finding.',
          ...(owner ? [] : ['Tag each user with its owner so alerts reach the right team.']),
        ],
        threadId: `keyrot-scan-${plan.accountId}-${owner ?? 'unowned'}`,
      } satisfies Alert;
    });
}

/** Retirement's alerts: keys held because they are still used (escalated later), deactivations, failures. */
export function retirementAlerts(
  accountId: string,
  results: ReadonlyArray<UserRetirement | { userName: string; error: unknown }>,
): Alert[] {
  const alerts: Alert[] = [];
  for (const result of results) {
    const userName = result.userName;
    const base = { accountId, userName };
    if ('error' in result) {
      const message = result.error instanceof Error ? result.error.message : String(result.error);
      alerts.push({
        ...base,
        kind: 'failure',
        severity: 'critical',
        title: `keyrot: retiring ${userName}'s old keys failed`,
        lines: [message],
        nextSteps: [
          'The next daily run tries again. If it keeps failing, run `keyrot retire --dry-run` and `keyrot status`.',
        ],
        threadId: `keyrot-retire-${accountId}-${userName}`,
      });
      continue;
    }
    if (result.broken) {
      alerts.push({
        ...base,
        kind: 'user-broken',
        severity: 'critical',
        title: `keyrot: ${userName} has no working key in ${result.secretName}`,
        lines: [`${result.broken.detail}.`, 'keyrot touches none of its keys until this is fixed.'],
        nextSteps: [`Fix: ${result.broken.fix}`, `Then check: keyrot status --user ${userName}`],
        threadId: `keyrot-broken-${accountId}-${userName}`,
      });
      continue;
    }
    const lastUse = (id: string) => result.state.keys.find((k) => k.accessKeyId === id)?.lastUsedAt;
    for (const decision of result.decisions) {
      if (decision.kind !== 'hold') continue;
      const used = lastUse(decision.accessKeyId);
      alerts.push({
        ...base,
        accessKeyId: decision.accessKeyId,
        kind: 'key-in-use',
        severity: decision.escalate ? 'critical' : 'warning',
        title: `keyrot: ${userName}'s replaced key ${decision.accessKeyId} is still in use${decision.escalate ? ' (escalated)' : ''}`,
        lines: [decision.reason, ...(used ? [`Last used ${used.toISOString()}.`] : [])],
        nextSteps: [
          `Move the consumers still using ${decision.accessKeyId} to the current key in ${result.secretName}.`,
          'keyrot deactivates the old key once it has been idle long enough.',
        ],
        threadId: `keyrot-key-${accountId}-${decision.accessKeyId}`,
      });
    }
    for (const decision of result.applied) {
      if (decision.kind !== 'deactivate') continue;
      alerts.push({
        ...base,
        accessKeyId: decision.accessKeyId,
        kind: 'key-deactivated',
        severity: 'info',
        title: `keyrot: deactivated ${userName}'s replaced key ${decision.accessKeyId}`,
        lines: [decision.reason],
        nextSteps: [
          `A consumer still using ${decision.accessKeyId} fails from now on. To bring the key back: \`keyrot rollback --user ${userName}\`.`,
        ],
        threadId: `keyrot-key-${accountId}-${decision.accessKeyId}`,
      });
    }
  }
  return alerts;
}

/** The alerts with each user's owner filled in (retirement reads owners only for users it alerts about). */
export function withOwners(
  alerts: readonly Alert[],
  owners: ReadonlyMap<string, string | undefined>,
): Alert[] {
  return alerts.map((alert) => {
    const owner = alert.userName === undefined ? undefined : owners.get(alert.userName);
    return owner ? { ...alert, owner } : alert;
  });
}

/** Plain text, for e-mail. */
export function alertText(alert: Alert): string {
  return [
    alert.title,
    '',
    ...alert.lines,
    '',
    'What to do:',
    ...alert.nextSteps.map((step) => `- ${step}`),
    '',
    `Account ${alert.accountId}, severity ${alert.severity}${alert.owner ? `, owner ${alert.owner}` : ''}.`,
  ].join('\n');
}

/**
 * The custom-notification format of AWS chat integrations (Amazon Q Developer in chat applications,
 * formerly AWS Chatbot), which posts it to Slack or Teams; the keyrot fields are in additionalContext.
 */
export function alertChatMessage(alert: Alert): Record<string, unknown> {
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: alert.title,
      description: alert.lines.join('\n'),
      nextSteps: alert.nextSteps,
      keywords: ['keyrot', alert.kind, alert.severity],
    },
    metadata: {
      threadId: alert.threadId,
      summary: alert.title,
      eventType: `keyrot:${alert.kind}`,
      additionalContext: {
        accountId: alert.accountId,
        severity: alert.severity,
        ...(alert.owner ? { owner: alert.owner } : {}),
        ...(alert.userName ? { userName: alert.userName } : {}),
        ...(alert.accessKeyId ? { accessKeyId: alert.accessKeyId } : {}),
      },
    },
  };
}
