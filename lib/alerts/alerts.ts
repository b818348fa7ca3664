import { createHash } from 'node:crypto';
import { BrokenUserError, TargetError } from '../errors.js';
import type { Plan } from '../policy/plan.js';
import type { UserRetirement } from '../retirement/retire.js';
import type { StepFailure } from '../rotation/lambda-step.js';
import type { StartResult } from '../rotation/start.js';

export type AlertSeverity = 'info' | 'warning' | 'critical';

/** Severities in rising order: the dedup ledger re-sends an alert whose severity rose. */
export const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

/** Every kind of alert keyrot sends, and where it comes from. */
export const ALERT_KINDS = [
  /** scan: one digest per owner of what needs a person. */
  'findings',
  /** scan or retire: starting a rotation, or retiring a user's keys, failed. */
  'failure',
  /** retire: a replaced key is still in use, so it is held; `critical` once escalated. */
  'key-in-use',
  /** retire: a replaced key was deactivated; a consumer still on it fails from now on. */
  'key-deactivated',
  /** retire: a retired key was deleted for good. */
  'key-deleted',
  /** rotate: a rotation step failed; the old key stays current. */
  'rotation-failed',
  /** rotate (targets): pushing the new key to a target failed. */
  'target-push-failed',
  /** targets: a target holds a key other than the one keyrot last pushed there. */
  'drift',
  /** rotate --compromised: every old key was taken out of service at once. */
  'emergency-rotation',
  /** respond: AWS reported an access key exposed in public; what keyrot did and what is left to do. */
  'key-leaked',
  /** rollback: the previous key is current again. */
  'rollback',
  /** targets: the trigger that redeploys a consumer after a push failed. */
  'redeploy-failed',
  /** status/retire: keyrot finds a user in a state it can't fix on its own. */
  'user-broken',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Who still signs requests with a key, from CloudTrail (management events, last 90 days). */
export interface KeyUsage {
  sourceIp: string;
  userAgent: string;
  eventNames: string[];
  /** ISO time of the latest event from this source. */
  lastSeen: string;
  events: number;
}

/**
 * One message for people: what happened, to whom, and what to do. Holds user names and access key
 * ids (not secret), never key material.
 */
export interface Alert {
  kind: AlertKind;
  severity: AlertSeverity;
  accountId: string;
  /** The account's IAM alias (else its Organizations name), in organization mode. */
  accountAlias?: string;
  /** An organization digest's accounts (accountId then lists their ids, comma-separated). */
  accounts?: Array<{ accountId: string; alias: string }>;
  /** The owner tag of the user(s) concerned; undefined when nobody owns them. */
  owner?: string;
  userName?: string;
  accessKeyId?: string;
  /** The user's `slack-channel` tag: which configured Slack channel gets this alert. */
  slackChannel?: string;
  title: string;
  lines: string[];
  nextSteps: string[];
  /** The exact keyrot command that shows or fixes it. */
  command?: string;
  /** For held keys: who still uses the key, from CloudTrail. */
  usage?: KeyUsage[];
  /** Alerts about the same thing share a thread (chat clients group them). */
  threadId: string;
  /** What the alert is about, for the dedup ledger: the same subject in the same state is one alert. */
  subject: string;
  /** The state of the subject; a change sends the alert again at once. */
  state: string;
  /** Filled in when the alert is sent: when, and from which stage. */
  at?: string;
  stage?: string;
}

/** A digest lists this many items at most (SNS messages are limited to 256 KB; people read less). */
export const MAX_LINES = 40;

const digestOf = (lines: readonly string[]) =>
  createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);

/** "…WXYZ": the last 4 characters of an access key id are enough to tell keys apart. */
export function keyTail(accessKeyId: string): string {
  return `…${accessKeyId.slice(-4)}`;
}

/**
 * The scan's alerts: one digest per owner of what needs a person (the plan's `report` actions, and
 * rotations that could not be started), so each owner hears about their own users only. `channels`
 * maps users to their `slack-channel` tag; a digest goes to the channel most of its users name.
 */
export function scanAlerts(
  plan: Plan,
  starts: readonly StartResult[] = [],
  channels: ReadonlyMap<string, string> = new Map(),
): Alert[] {
  const ownerOf = new Map(plan.users.map((u) => [u.userName, u.owner]));
  type Weight = 'failed' | 'attention' | 'info';
  const byOwner = new Map<
    string | undefined,
    { lines: string[]; failed: number; attention: number; users: Set<string> }
  >();
  const add = (userName: string, line: string, weight: Weight) => {
    const owner = ownerOf.get(userName);
    const entry = byOwner.get(owner) ?? { lines: [], failed: 0, attention: 0, users: new Set<string>() };
    entry.lines.push(line);
    entry.users.add(userName);
    if (weight === 'failed') entry.failed++;
    if (weight === 'attention') entry.attention++;
    byOwner.set(owner, entry);
  };
  for (const start of starts) {
    if (start.outcome === 'failed')
      add(
        start.userName,
        `${start.userName}: the rotation could not be started (${start.error ?? 'unknown error'})`,
        'failed',
      );
    if (start.outcome === 'stuck')
      add(start.userName, `${start.userName}: rotation stuck: ${start.detail ?? ''}`, 'failed');
  }
  for (const action of plan.actions) {
    if (action.kind === 'report') add(action.userName, `${action.userName}: ${action.reason}`, 'attention');
  }
  // Queued rotations need nobody, but owners hear that their user's rotation is coming.
  for (const start of starts) {
    if (start.outcome === 'queued')
      add(
        start.userName,
        `${start.userName}: rotation queued (${start.detail ?? 'starts on a later run'})`,
        'info',
      );
  }
  return [...byOwner.entries()]
    .sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))
    .map(([owner, entry]) => {
      const who = owner ? `owner ${owner}` : 'users without an owner';
      const count = entry.lines.length;
      const shown = entry.lines.slice(0, MAX_LINES);
      if (count > MAX_LINES) shown.push(`... and ${count - MAX_LINES} more.`);
      const channel = mostCommon([...entry.users].flatMap((u) => channels.get(u) ?? []));
      return {
        kind: entry.failed > 0 ? 'failure' : 'findings',
        severity: entry.failed > 0 ? 'critical' : entry.attention > 0 ? 'warning' : 'info',
        accountId: plan.accountId,
        ...(owner ? { owner } : {}),
        ...(entry.users.size === 1 ? { userName: [...entry.users][0] } : {}),
        ...(channel ? { slackChannel: channel } : {}),
        title:
          entry.failed + entry.attention > 0
            ? `keyrot: ${count} ${count === 1 ? 'item needs' : 'items need'} attention for ${who} in ${plan.accountId}`
            : `keyrot: ${count} ${count === 1 ? 'rotation' : 'rotations'} queued for ${who} in ${plan.accountId}`,
        lines: shown,
        nextSteps: [
          'Run `keyrot plan` for the details of each finding.',
          ...(owner ? [] : ['Tag each user with its owner so alerts reach the right team.']),
        ],
        command: 'keyrot plan',
        threadId: `keyrot-scan-${plan.accountId}-${owner ?? 'unowned'}`,
        subject: `digest#${plan.accountId}#${owner ?? 'unowned'}`,
        state: digestOf([...entry.lines].sort()),
      } satisfies Alert;
    });
}

function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: [string, number] | undefined;
  for (const entry of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
    if (best === undefined || entry[1] > best[1]) best = entry;
  return best?.[0];
}

/** Retirement's alerts: keys held because they are still used (escalated later), deactivations, deletions, failures. */
export function retirementAlerts(
  accountId: string,
  results: ReadonlyArray<UserRetirement | { userName: string; error: unknown }>,
): Alert[] {
  const alerts: Alert[] = [];
  for (const result of results) {
    const userName = result.userName;
    const base = { accountId, userName };
    if ('error' in result) {
      alerts.push({
        ...base,
        kind: 'failure',
        severity: 'critical',
        title: `keyrot: retiring ${userName}'s old keys failed`,
        lines: [messageOf(result.error)],
        nextSteps: [
          'The next daily run tries again. If it keeps failing, run `keyrot retire --dry-run` and `keyrot status`.',
        ],
        command: `keyrot retire --dry-run --user ${userName}`,
        threadId: `keyrot-retire-${accountId}-${userName}`,
        subject: `retire-failed#${accountId}#${userName}`,
        state: errorState(result.error),
      });
      continue;
    }
    if (result.broken) {
      alerts.push(
        userBrokenAlert({
          accountId,
          userName,
          secretName: result.secretName,
          reason: result.broken.detail,
          fix: result.broken.fix,
        }),
      );
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
        command: `keyrot status --user ${userName}`,
        threadId: `keyrot-key-${accountId}-${decision.accessKeyId}`,
        subject: `key#${accountId}#${decision.accessKeyId}`,
        state: decision.escalate ? 'held-escalated' : 'held',
      });
    }
    for (const decision of result.applied) {
      if (decision.kind === 'deactivate') {
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
          command: `keyrot rollback --user ${userName}`,
          threadId: `keyrot-key-${accountId}-${decision.accessKeyId}`,
          subject: `key#${accountId}#${decision.accessKeyId}`,
          state: 'deactivated',
        });
      }
      if (decision.kind === 'delete') {
        alerts.push({
          ...base,
          accessKeyId: decision.accessKeyId,
          kind: 'key-deleted',
          severity: 'info',
          title: `keyrot: deleted ${userName}'s retired key ${decision.accessKeyId}`,
          lines: [decision.reason],
          nextSteps: ['Nothing to do: the key had been inactive and unused. The current key is unchanged.'],
          command: `keyrot status --user ${userName}`,
          threadId: `keyrot-key-${accountId}-${decision.accessKeyId}`,
          subject: `key#${accountId}#${decision.accessKeyId}`,
          state: 'deleted',
        });
      }
    }
  }
  return alerts;
}

/** The user's tags that route alerts: its owner and its Slack channel. */
export interface Routing {
  owner?: string;
  slackChannel?: string;
}

/** The alerts with each user's owner and Slack channel filled in (read only for users alerted about). */
export function withOwners(
  alerts: readonly Alert[],
  routes: ReadonlyMap<string, string | undefined | Routing>,
): Alert[] {
  return alerts.map((alert) => {
    const found = alert.userName === undefined ? undefined : routes.get(alert.userName);
    const route: Routing = typeof found === 'string' ? { owner: found } : (found ?? {});
    return {
      ...alert,
      ...(route.owner ? { owner: route.owner } : {}),
      ...(route.slackChannel ? { slackChannel: route.slackChannel } : {}),
    };
  });
}

/** The rotate function (or a driven rotation) failed at a step. */
export function rotationFailedAlert(input: {
  accountId: string;
  userName: string;
  secretName: string;
  step: string;
  token: string;
  error: unknown;
  /** Secrets Manager retries a failed rotation; a driven (CLI) rotation is retried by re-running it. */
  secretsManagerRetries: boolean;
}): Alert {
  const { accountId, userName, step } = input;
  return {
    kind: 'rotation-failed',
    severity: 'critical',
    accountId,
    userName,
    title: `keyrot: rotating ${userName}'s key failed at ${step}`,
    lines: [
      `Step ${step} of ${input.secretName} failed: ${messageOf(input.error)}`,
      'The old key stays current; no consumer loses a working key.',
      input.secretsManagerRetries
        ? 'Secrets Manager retries the rotation; it resumes where it stopped.'
        : 'Nothing retries it on its own: re-run the rotation once the cause is fixed.',
    ],
    nextSteps: [`Fix the cause, then resume the rotation: \`keyrot rotate --user ${userName}\`.`],
    command: `keyrot rotate --user ${userName}`,
    threadId: `keyrot-rotation-${accountId}-${userName}`,
    subject: `rotation#${accountId}#${userName}`,
    state: `failed:${step}:${input.token}`,
  };
}

/** The alert for a failed rotation step: a target's failure names the target, anything else the step. */
export function rotationFailureAlert(
  accountId: string,
  failure: StepFailure,
  secretsManagerRetries: boolean,
): Alert {
  const { error } = failure;
  if (error instanceof BrokenUserError) {
    return userBrokenAlert({
      accountId,
      userName: failure.userName,
      reason: error.broken.detail,
      fix: error.broken.fix,
    });
  }
  if (error instanceof TargetError && error.target) {
    const alert = targetPushFailedAlert({
      accountId,
      userName: failure.userName,
      targetType: error.target.type,
      targetName: error.target.name,
      error,
    });
    return { ...alert, state: `${alert.state}:${failure.token}` };
  }
  return rotationFailedAlert({ accountId, ...failure, secretsManagerRetries });
}

/** A target refused the new key (setSecret); the rotation stops before the cut-over. */
export function targetPushFailedAlert(input: {
  accountId: string;
  userName: string;
  accessKeyId?: string;
  targetType: string;
  targetName: string;
  error: unknown;
}): Alert {
  const { accountId, userName } = input;
  return {
    kind: 'target-push-failed',
    severity: 'critical',
    accountId,
    userName,
    ...(input.accessKeyId ? { accessKeyId: input.accessKeyId } : {}),
    title: `keyrot: pushing ${userName}'s new key to ${input.targetType} "${input.targetName}" failed`,
    lines: [
      `${input.targetType} "${input.targetName}": ${messageOf(input.error)}`,
      'The old key stays current until every target holds the new one.',
    ],
    nextSteps: [
      `Check the target's token and permissions, then resume: \`keyrot rotate --user ${userName}\`.`,
    ],
    command: `keyrot rotate --user ${userName}`,
    threadId: `keyrot-rotation-${accountId}-${userName}`,
    subject: `target#${accountId}#${userName}#${input.targetType}#${input.targetName}`,
    state: `push-failed:${input.accessKeyId ?? 'unknown'}`,
  };
}

/**
 * A target holds (or, by keyrot's record, last received) a key other than AWSCURRENT's: consumers
 * reading it get an old key, which retirement keeps until the target is fixed.
 */
export function driftAlert(input: {
  accountId: string;
  userName: string;
  targetType: string;
  targetName: string;
  /** The key id the target holds; undefined when it holds none keyrot knows of. */
  holdsKeyId?: string;
  /** How keyrot knows: the target's fingerprint, read live, or its record of what it last received. */
  source: 'fingerprint' | 'record';
}): Alert {
  const { accountId, userName, holdsKeyId } = input;
  const what =
    input.source === 'fingerprint'
      ? holdsKeyId
        ? `It holds ${holdsKeyId}, not AWSCURRENT's key: someone changed it outside keyrot, or a push did not reach it.`
        : 'It holds no key: someone removed it outside keyrot.'
      : holdsKeyId
        ? `keyrot last pushed ${holdsKeyId} there, not AWSCURRENT's key: a rotation or rollback did not reach it.`
        : 'keyrot has not pushed a key there yet: it was added after the last rotation.';
  return {
    kind: 'drift',
    severity: 'warning',
    accountId,
    userName,
    ...(holdsKeyId ? { accessKeyId: holdsKeyId } : {}),
    title: `keyrot: ${input.targetType} "${input.targetName}" of ${userName} drifted from the current key`,
    lines: [
      what,
      holdsKeyId
        ? `Consumers reading it get ${holdsKeyId}, not the current key; retirement keeps ${holdsKeyId} until the target is fixed.`
        : 'Consumers reading it do not get the current key.',
    ],
    nextSteps: [
      `Push the current key to every target by rotating: \`keyrot rotate --user ${userName}\`. Then check: \`keyrot status --user ${userName}\`.`,
    ],
    command: `keyrot rotate --user ${userName}`,
    threadId: `keyrot-target-${accountId}-${userName}`,
    subject: `drift#${accountId}#${userName}#${input.targetType}#${input.targetName}`,
    state: `drift:${holdsKeyId ?? 'none'}`,
  };
}

/** The scan's drift alerts, one per drifted target (from keyrot's records on each secret). */
export function driftAlerts(
  accountId: string,
  drift: ReadonlyArray<{ userName: string; target: string; type: string; lastReceived: string | null }>,
): Alert[] {
  return drift.map((d) =>
    driftAlert({
      accountId,
      userName: d.userName,
      targetType: d.type,
      targetName: d.target,
      ...(d.lastReceived ? { holdsKeyId: d.lastReceived } : {}),
      source: 'record',
    }),
  );
}

/**
 * The redeploy a target triggers after the cut-over (so consumers pick up the new key) failed. The
 * rotation stands: the new key is current and stored in the target.
 */
export function redeployFailedAlert(input: {
  accountId: string;
  userName: string;
  targetType: string;
  targetName: string;
  /** The new key, which the target holds. */
  accessKeyId?: string;
  error: unknown;
}): Alert {
  const { accountId, userName } = input;
  const key = input.accessKeyId ? `The new key ${input.accessKeyId}` : 'The new key';
  return {
    kind: 'redeploy-failed',
    severity: 'warning',
    accountId,
    userName,
    ...(input.accessKeyId ? { accessKeyId: input.accessKeyId } : {}),
    title: `keyrot: the redeploy of ${input.targetType} "${input.targetName}" after rotating ${userName}'s key failed`,
    lines: [
      `${key} is current and stored there, but the redeploy trigger failed: ${messageOf(input.error)}`,
      'Consumers that read the key when they start keep the old key until they restart; it works until retirement deactivates it, and retirement holds it while it is in use.',
    ],
    nextSteps: [
      `Redeploy the consumer by hand (run its workflow or pipeline), then check the old key goes quiet: \`keyrot status --user ${userName}\`.`,
    ],
    command: `keyrot status --user ${userName}`,
    threadId: `keyrot-target-${accountId}-${userName}`,
    subject: `redeploy#${accountId}#${userName}#${input.targetType}#${input.targetName}`,
    // Each rotation's redeploy is its own event: a new key alerts at once.
    state: `failed:${input.accessKeyId ?? errorState(input.error)}`,
  };
}

/** An emergency rotation: the old keys were taken out of service at once. */
export function emergencyAlert(input: {
  accountId: string;
  userName: string;
  secretName: string;
  accessKeyId: string;
  deactivated: readonly string[];
  deleted: readonly string[];
}): Alert {
  const { accountId, userName } = input;
  const old = input.deactivated.join(', ') || '(none was active)';
  return {
    kind: 'emergency-rotation',
    severity: 'critical',
    accountId,
    userName,
    accessKeyId: input.accessKeyId,
    title: `keyrot: emergency rotation of ${userName}: old keys taken out of service`,
    lines: [
      `${input.accessKeyId} is current in ${input.secretName}.`,
      `Deactivated at once, whatever their use: ${old}.`,
      ...(input.deleted.length > 0 ? [`Deleted: ${input.deleted.join(', ')}.`] : []),
      'A consumer still on an old key fails now.',
    ],
    nextSteps: [
      `Move every consumer to ${input.secretName}; check with \`keyrot status --user ${userName}\`.`,
    ],
    command: `keyrot status --user ${userName}`,
    threadId: `keyrot-rotation-${accountId}-${userName}`,
    subject: `emergency#${accountId}#${userName}`,
    state: input.accessKeyId,
  };
}

/** A rollback made the previous key current again. */
export function rollbackAlert(input: {
  accountId: string;
  userName: string;
  secretName: string;
  restoredKeyId: string;
  replacedKeyId?: string;
  reactivated: boolean;
}): Alert {
  const { accountId, userName } = input;
  return {
    kind: 'rollback',
    severity: 'warning',
    accountId,
    userName,
    accessKeyId: input.restoredKeyId,
    title: `keyrot: ${userName} rolled back to ${input.restoredKeyId}`,
    lines: [
      `${input.restoredKeyId}${input.reactivated ? ' (reactivated)' : ''} is current in ${input.secretName} again.`,
      `${input.replacedKeyId ?? 'The newer key'} is now the previous key and will be retired.`,
    ],
    nextSteps: [
      `Find why the new key broke a consumer, then rotate again: \`keyrot rotate --user ${userName}\`.`,
    ],
    command: `keyrot status --user ${userName}`,
    threadId: `keyrot-rotation-${accountId}-${userName}`,
    subject: `rollback#${accountId}#${userName}`,
    state: input.restoredKeyId,
  };
}

/**
 * A machine user whose secret gives it no working key (the key guard's "broken"): keyrot touches none
 * of its keys until a person fixes it with the command given.
 */
export function userBrokenAlert(input: {
  accountId: string;
  userName: string;
  /** What is broken. */
  reason: string;
  /** The exact command that fixes it. */
  fix: string;
  secretName?: string;
}): Alert {
  const { accountId, userName } = input;
  return {
    kind: 'user-broken',
    severity: 'critical',
    accountId,
    userName,
    title: `keyrot: ${userName} has no working key${input.secretName ? ` in ${input.secretName}` : ''}`,
    lines: [
      input.reason.endsWith('.') ? input.reason : `${input.reason}.`,
      'keyrot touches none of its keys until this is fixed.',
    ],
    nextSteps: [`Fix: ${input.fix}`, `Then check: keyrot status --user ${userName}`],
    command: input.fix,
    threadId: `keyrot-broken-${accountId}-${userName}`,
    subject: `broken#${accountId}#${userName}`,
    state: digestOf([input.reason]),
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's kind, not its text (texts carry request ids that change on every retry). */
function errorState(error: unknown): string {
  return error instanceof Error ? error.name : 'error';
}

/** Plain text, for e-mail. */
export function alertText(alert: Alert): string {
  return [
    alert.title,
    '',
    ...alert.lines,
    ...usageLines(alert.usage, alert.kind),
    '',
    'What to do:',
    ...alert.nextSteps.map((step) => `- ${step}`),
    ...commandStep(alert).map((step) => `- ${step}`),
    '',
    `${accountsLine(alert)}, severity ${alert.severity}${alert.owner ? `, owner ${alert.owner}` : ''}${alert.stage ? `, stage ${alert.stage}` : ''}${alert.at ? `, ${alert.at}` : ''}.`,
  ].join('\n');
}

/** "Account 111122223333 (team-a)", or every account of an organization digest. */
function accountsLine(alert: Alert): string {
  const name = (a: { accountId: string; alias?: string }) =>
    a.alias && a.alias !== a.accountId ? `${a.accountId} (${a.alias})` : a.accountId;
  if (alert.accounts && alert.accounts.length > 0)
    return `Account${alert.accounts.length === 1 ? '' : 's'} ${alert.accounts.map(name).join(', ')}`;
  return `Account ${name({ accountId: alert.accountId, ...(alert.accountAlias ? { alias: alert.accountAlias } : {}) })}`;
}

/** "Run: <command>", unless a step already names the command. */
function commandStep(alert: Alert): string[] {
  const { command } = alert;
  return command && !alert.nextSteps.some((step) => step.includes(command)) ? [`Run: ${command}`] : [];
}

/** Who still uses the key, one line per source, for text renderings. */
export function usageLines(usage: readonly KeyUsage[] | undefined, kind?: AlertKind): string[] {
  if (usage === undefined) return [];
  // A leaked key's calls are what it did, not who still uses it; the newest may not be in CloudTrail yet.
  const leaked = kind === 'key-leaked';
  const lag = leaked ? '; an event shows about 5 minutes after its call, so look again later' : '';
  if (usage.length === 0)
    return [`CloudTrail shows no management event signed with this key in 90 days${lag}.`];
  return [
    leaked
      ? `Calls signed with this key, by source (CloudTrail, last 90 days${lag}):`
      : 'Still used by (CloudTrail, last 90 days):',
    ...usage.map(
      (u) =>
        `  ${u.sourceIp} · ${u.userAgent} · ${u.eventNames.join(', ')} · last seen ${u.lastSeen} (${u.events} event${u.events === 1 ? '' : 's'})`,
    ),
  ];
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
      description: [...alert.lines, ...usageLines(alert.usage, alert.kind)].join('\n'),
      nextSteps: [...alert.nextSteps, ...commandStep(alert)],
      keywords: ['keyrot', alert.kind, alert.severity],
    },
    metadata: {
      threadId: alert.threadId,
      summary: alert.title,
      eventType: `keyrot:${alert.kind}`,
      additionalContext: {
        accountId: alert.accountId,
        ...(alert.accountAlias ? { accountAlias: alert.accountAlias } : {}),
        severity: alert.severity,
        ...(alert.owner ? { owner: alert.owner } : {}),
        ...(alert.userName ? { userName: alert.userName } : {}),
        ...(alert.accessKeyId ? { accessKeyId: alert.accessKeyId } : {}),
      },
    },
  };
}
