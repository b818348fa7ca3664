import { accountLabel, acrossAccounts } from '../../accounts/across.js';
import { type KeyUsage, usageLines } from '../../alerts/alerts.js';
import { keyUsageLookup } from '../../alerts/key-usage.js';
import { createClients, createCloudTrailClient, createOrganizationsClient } from '../../aws/clients.js';
import { cloudTrailLookup } from '../../aws/cloudtrail.js';
import { classifyAwsError } from '../../aws/errors.js';
import { type Clock, simulatedClock, systemClock, wholeDaysBetween } from '../../clock.js';
import { KeyrotError, UsageError } from '../../errors.js';
import { listAccessKeys } from '../../inventory/per-user.js';
import { planRetirement } from '../../retirement/plan.js';
import { machineUsers, readRetireState } from '../../retirement/retire.js';
import { unfinishedRotation } from '../../rotation/stuck.js';
import { getIamUser, type IamUser, requireMachineUser } from '../../secret/state.js';
import type { TargetStatus } from '../../targets/drift.js';
import { readTargetRecords } from '../../targets/state.js';
import { parseFlags, parseNow } from '../args.js';
import { table } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';
import { liveTargetViews, statusRow, targetStatus } from '../targets.js';

export const statusHelp = `Usage: keyrot status [--user NAME | --org] [--now ISO-DATE] [--json] [--config FILE]

Where each machine user stands, as a health check: its current key and age, any rotation in
progress, and each other key with its state, last use, the days until its deactivation and deletion,
and what holds it up. A user whose secret gives it no working key is BROKEN: the state is named
with the command that fixes it. One user that can't be read does not hide the others. Each target's
fingerprint (the key id it holds) and drift: a target holding a key other than AWSCURRENT's (this
reads targets' tokens under targetSecretPrefix).
With --user, a key held because it is still in use also shows who uses it: source IPs, user agents,
event names and when each was last seen (CloudTrail LookupEvents, last 90 days).
With --org, every account of the organization (accounts.include / exclude), from the hub's
credentials: accounts.memberRole is assumed in each, accounts.concurrency at a time, and an ACCOUNT
column is added. An account that can't be read is named with what to do; the others are shown.
Read-only. Exit 5 when any user is broken or could not be read (or, with --org, any account), so
cron or CI can run it.
`;

const day = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : '-');

type UserStatus =
  /** `bothKeysActive`: two active keys, so onboarding has no free slot until a person frees one. */
  | { userName: string; state: 'not-onboarded'; bothKeysActive?: true }
  | { userName: string; state: 'error'; error: string; fix: string }
  | {
      userName: string;
      state: 'ok' | 'broken';
      secret: string;
      broken?: { reason: string; detail: string; fix: string };
      currentKey?: { accessKeyId: string; ageDays?: number };
      rotationInProgress: string | null;
      /** An AWSPENDING version older than rotation.stuckAfterHours: a person must finish or restart it. */
      rotationStuckSince: Date | null;
      cutoverAt?: Date;
      targets: TargetStatus[];
      otherKeys: Array<{
        accessKeyId: string;
        role: string;
        /** Who still uses a held key (CloudTrail), with --user. */
        usedBy?: KeyUsage[];
        status?: string;
        lastUsedAt?: Date;
        next: string;
        daysUntilDeactivation?: number;
        daysUntilDeletion?: number;
        why: string;
      }>;
    };

export async function statusCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('status', argv, {
    user: { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
    config: { type: 'string' },
    org: { type: 'boolean' },
  });
  const now = parseNow(values.now) ?? systemClock.now();
  const { config } = await resolveConfig(values.config, io);
  const clock = values.now ? simulatedClock(now) : systemClock;
  if (values.org) {
    if (values.user) {
      throw new UsageError(
        '--user and --org can\'t be combined: --org reads every machine user of every account. Run "keyrot status --user NAME" with that account\'s credentials.',
      );
    }
    return orgStatus(config, clock, now, Boolean(values.now), Boolean(values.json), io);
  }
  const clients = createClients();
  const deps = { clients, clock, targetViews: liveTargetViews(clients, clock, config) };
  const statuses = await collectStatuses(deps, config, now, values.user);
  // Who still uses a held key (CloudTrail allows 2 lookups a second): for one user only.
  if (values.user) await addKeyUsage(statuses, io);

  const unhealthy = statuses.filter((s) => s.state === 'broken' || s.state === 'error');
  if (values.json) {
    io.stdout(`${JSON.stringify({ now, healthy: unhealthy.length === 0, users: statuses }, null, 2)}\n`);
    return unhealthy.length > 0 ? 5 : 0;
  }
  io.stdout(
    `keyrot status · as of ${now.toISOString()}${values.now ? ' (simulated with --now)' : ''}\n\n${table([STATUS_HEADER, ...statusRows(statuses)])}\n`,
  );
  const targetRows = statuses.flatMap((u) =>
    'targets' in u ? u.targets.map((t) => statusRow(u.userName, t)) : [],
  );
  if (targetRows.length > 0) io.stdout(`\nTargets:\n${table([TARGET_HEADER, ...targetRows])}\n`);
  for (const u of statuses)
    for (const k of 'otherKeys' in u ? u.otherKeys : [])
      if (k.usedBy) io.stdout(`\n${k.accessKeyId} is held. ${usageLines(k.usedBy).join('\n')}\n`);
  if (unhealthy.length > 0) {
    io.stdout(
      `\n${unhealthy.length} machine user${unhealthy.length === 1 ? ' needs' : 's need'} attention: ${unhealthy.map((u) => u.userName).join(', ')}.\n`,
    );
    return 5;
  }
  return 0;
}

const STATUS_HEADER = [
  'USER',
  'CURRENT KEY',
  'AGE',
  'ROTATION',
  'OTHER KEY',
  'ROLE',
  'STATE',
  'LAST USED',
  'NEXT',
  'WHY',
];
const TARGET_HEADER = ['USER', 'TARGET', 'TYPE', 'HOLDS', 'STATE', 'NOTE'];

type StatusDeps = Parameters<typeof readRetireState>[0];

/** Every machine user's status (or one user's), each read on its own: one failure hides no other. */
async function collectStatuses(
  deps: StatusDeps,
  config: Parameters<typeof readRetireState>[1],
  now: Date,
  userName?: string,
): Promise<UserStatus[]> {
  let users: IamUser[];
  if (userName) {
    const user = await getIamUser(deps.clients.iam, userName);
    requireMachineUser(config, user);
    users = [user];
  } else {
    users = await machineUsers(deps, config);
  }
  const statuses: UserStatus[] = [];
  for (const user of users) statuses.push(await statusOf(deps, config, user, now));
  return statuses;
}

/** The status table's rows, without the header. */
function statusRows(statuses: readonly UserStatus[]): string[][] {
  const rows: string[][] = [];
  for (const u of statuses) {
    if (u.state === 'not-onboarded') {
      rows.push([
        u.userName,
        '(no keyrot secret)',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        u.bothKeysActive
          ? `not onboarded, and both key slots are taken by active keys: deactivate the one no consumer uses (aws iam update-access-key --user-name ${u.userName} --access-key-id ID --status Inactive; keyrot plan shows each key's last use), then keyrot rotate --user ${u.userName}`
          : `not onboarded: keyrot rotate --user ${u.userName}`,
      ]);
      continue;
    }
    if (u.state === 'error') {
      rows.push([u.userName, 'UNREADABLE', '-', '-', '-', '-', '-', '-', '-', `${u.error} Fix: ${u.fix}`]);
      continue;
    }
    const head = [
      u.userName,
      u.state === 'broken' ? 'BROKEN' : (u.currentKey?.accessKeyId ?? '-'),
      u.currentKey?.ageDays === undefined ? '-' : `${u.currentKey.ageDays}d`,
      u.rotationStuckSince
        ? `STUCK since ${u.rotationStuckSince.toISOString().slice(0, 16)}Z`
        : u.rotationInProgress
          ? 'in progress'
          : '-',
    ];
    if (u.broken) rows.push([...head, '-', '-', '-', '-', 'fix', `${u.broken.detail}. Fix: ${u.broken.fix}`]);
    else if (u.otherKeys.length === 0) rows.push([...head, '-', '-', '-', '-', '-', 'nothing to retire']);
    for (const k of u.otherKeys) {
      const next =
        k.next === 'wait' && k.daysUntilDeactivation !== undefined && k.status === 'Active'
          ? `deactivate in ${k.daysUntilDeactivation}d`
          : k.next === 'wait' && k.daysUntilDeletion !== undefined
            ? `delete in ${k.daysUntilDeletion}d`
            : k.next;
      rows.push([...head, k.accessKeyId, k.role, k.status ?? '-', day(k.lastUsedAt), next, k.why]);
    }
  }
  return rows;
}

/**
 * `keyrot status --org`: every selected account's machine users, read as the member role, with an
 * ACCOUNT column. Exit 5 when a user in any account is broken or unreadable, or an account could not
 * be read (named, with what to do); the other accounts are shown all the same.
 */
async function orgStatus(
  config: Parameters<typeof readRetireState>[1],
  clock: Clock,
  now: Date,
  simulated: boolean,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const results = await acrossAccounts(
    { org: createOrganizationsClient(), sts: createClients().sts, clock: systemClock },
    config,
    (account) =>
      collectStatuses(
        {
          clients: account.clients,
          clock,
          targetViews: liveTargetViews(account.clients, clock, config),
        },
        config,
        now,
      ),
  );
  const unhealthy = results.flatMap((r) =>
    r.ok
      ? r.value
          .filter((s) => s.state === 'broken' || s.state === 'error')
          .map((s) => `${s.userName} in ${accountLabel(r)}`)
      : [],
  );
  const failed = results.flatMap((r) => (r.ok ? [] : [r]));
  for (const r of failed)
    io.stderr(`keyrot: account ${accountLabel(r)} could not be read: ${r.error.message}\n`);
  const exit = unhealthy.length > 0 || failed.length > 0 ? 5 : 0;
  if (json) {
    const accounts = results.map(({ accountId, accountName, alias, ...r }) =>
      r.ok
        ? { accountId, accountName, alias, users: r.value }
        : { accountId, accountName, alias, error: r.error.message },
    );
    io.stdout(`${JSON.stringify({ now, healthy: exit === 0, accounts }, null, 2)}\n`);
    return exit;
  }
  const rows: string[][] = [['ACCOUNT', ...STATUS_HEADER]];
  const targetRows: string[][] = [];
  for (const r of results) {
    const account = accountLabel(r);
    if (!r.ok) {
      rows.push([account, '-', 'UNREADABLE', '-', '-', '-', '-', '-', '-', '-', r.error.message]);
      continue;
    }
    for (const row of statusRows(r.value)) rows.push([account, ...row]);
    for (const u of r.value)
      if ('targets' in u) for (const t of u.targets) targetRows.push([account, ...statusRow(u.userName, t)]);
  }
  io.stdout(
    `keyrot status --org · ${results.length} account${results.length === 1 ? '' : 's'} · as of ${now.toISOString()}${simulated ? ' (simulated with --now)' : ''}\n\n${table(rows)}\n`,
  );
  if (targetRows.length > 0)
    io.stdout(`\nTargets:\n${table([['ACCOUNT', ...TARGET_HEADER], ...targetRows])}\n`);
  if (unhealthy.length > 0)
    io.stdout(
      `\n${unhealthy.length} machine user${unhealthy.length === 1 ? ' needs' : 's need'} attention: ${unhealthy.join(', ')}.\n`,
    );
  if (failed.length > 0)
    io.stdout(
      `\n${failed.length} account${failed.length === 1 ? '' : 's'} could not be read:\n${failed.map((r) => `  ${accountLabel(r)}: ${r.error.message}`).join('\n')}\n`,
    );
  return exit;
}

/** One user's status; a user that can't be read is reported as such, never hiding the others. */
async function statusOf(
  deps: Parameters<typeof readRetireState>[0],
  config: Parameters<typeof readRetireState>[1],
  user: IamUser,
  now: Date,
): Promise<UserStatus> {
  const { userName } = user;
  let read: Awaited<ReturnType<typeof readRetireState>>;
  try {
    read = await readRetireState(deps, config, user);
  } catch (raw) {
    const error = classifyAwsError(raw);
    if (!(error instanceof KeyrotError)) throw error;
    return {
      userName,
      state: 'error',
      error: error.message,
      fix: `keyrot status --user ${userName} --verbose`,
    };
  }
  if (read === undefined) {
    // keyrot never deactivates a key of a user it doesn't manage: with two active keys, a person must.
    const active = (await listAccessKeys(deps.clients.iam, userName)).filter((k) => k.status === 'Active');
    return active.length >= 2
      ? { userName, state: 'not-onboarded', bothKeysActive: true }
      : { userName, state: 'not-onboarded' };
  }
  const { state, snapshot, managed } = read;
  const unfinished = await unfinishedRotation(
    deps.clients.secrets,
    snapshot,
    now,
    config.rotation.stuckAfterHours,
  );
  const decisions = managed.broken ? [] : planRetirement(state, config.policy, now);
  const current = state.keys.find((k) => k.accessKeyId === state.currentKeyId);
  // The fingerprints were read for retirement's decisions (cached): each target against AWSCURRENT.
  const targets = deps.targetViews
    ? (await deps.targetViews(userName, readTargetRecords(snapshot.tags))).map((view) =>
        targetStatus(view, state.currentKeyId),
      )
    : [];
  return {
    userName,
    state: managed.broken ? 'broken' : 'ok',
    secret: snapshot.name,
    ...(managed.broken ? { broken: managed.broken } : {}),
    ...(state.currentKeyId
      ? {
          currentKey: {
            accessKeyId: state.currentKeyId,
            ...(current ? { ageDays: wholeDaysBetween(current.createdAt, now) } : {}),
          },
        }
      : {}),
    rotationInProgress: unfinished?.versionId ?? null,
    rotationStuckSince: unfinished?.stuck ? (unfinished.since ?? null) : null,
    ...(state.cutoverAt ? { cutoverAt: state.cutoverAt } : {}),
    targets,
    otherKeys: decisions
      .filter((d) => d.role === 'previous' || d.role === 'pre-keyrot' || d.role === 'pending')
      .map((d) => {
        const key = state.keys.find((k) => k.accessKeyId === d.accessKeyId);
        return {
          accessKeyId: d.accessKeyId,
          role: d.role,
          ...(key?.status ? { status: key.status } : {}),
          ...(key?.lastUsedAt ? { lastUsedAt: key.lastUsedAt } : {}),
          next: d.kind,
          ...(d.deactivateOn
            ? {
                daysUntilDeactivation: Math.max(
                  0,
                  Math.ceil((d.deactivateOn.getTime() - now.getTime()) / 86_400_000),
                ),
              }
            : {}),
          ...(d.deleteOn
            ? {
                daysUntilDeletion: Math.max(
                  0,
                  Math.ceil((d.deleteOn.getTime() - now.getTime()) / 86_400_000),
                ),
              }
            : {}),
          why: d.reason,
        };
      }),
  };
}

/** Adds CloudTrail's view of who uses each held key; a failed lookup is said and left out. */
async function addKeyUsage(statuses: UserStatus[], io: CliIo): Promise<void> {
  const lookup = keyUsageLookup(
    cloudTrailLookup(createCloudTrailClient({ maxAttempts: 3 })),
    undefined,
    (keyId, error) =>
      io.stderr(
        `keyrot: CloudTrail lookup for ${keyId} failed: ${error instanceof Error ? error.message : String(error)}\n`,
      ),
  );
  for (const u of statuses)
    for (const k of 'otherKeys' in u ? u.otherKeys : []) {
      if (k.next !== 'hold') continue;
      const found = await lookup(k.accessKeyId);
      if (found) k.usedBy = found;
    }
}
