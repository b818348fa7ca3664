import { wholeDaysBetween } from '../clock.js';
import type { Config } from '../config.js';
import type { AccessKeyRecord, Inventory, KeyStatus, UserRecord } from '../inventory/types.js';
import { adminGrants } from './privilege.js';

/** What the planner needs from the config. */
export type PlanPolicy = Pick<Config, 'machinePath' | 'ownerTag' | 'policy'>;

export type Severity = 'low' | 'medium' | 'high';

export type FindingCode =
  | 'stale-key'
  | 'unused-key'
  | 'never-used-key'
  | 'two-active-keys'
  | 'inactive-key-past-retention'
  | 'console-password'
  | 'admin-policy'
  | 'missing-owner'
  | 'quarantine-policy';

/** Names a key by id where known, else by its credential-report slot. */
export interface KeyRef {
  accessKeyId?: string;
  slot?: 1 | 2;
}

export interface Finding {
  code: FindingCode;
  severity: Severity;
  userName: string;
  key?: KeyRef;
  detail: string;
}

export type ActionKind = 'rotate' | 'delete-key' | 'report';

/** Something to do, and why. `report` means tell the owner; keyrot changes nothing for it. */
export interface PlannedAction {
  kind: ActionKind;
  userName: string;
  key?: KeyRef;
  reason: string;
}

export interface KeyView {
  key: KeyRef;
  status: KeyStatus;
  createdAt: Date;
  ageDays: number;
  lastUsedAt?: Date;
  lastUsedService?: string;
  /** Days since last use, or since creation for a never-used key. */
  idleDays: number;
  findings: FindingCode[];
  action: ActionKind | 'none';
}

export interface UserPlan {
  userName: string;
  arn: string;
  path: string;
  isMachineUser: boolean;
  owner?: string;
  keys: KeyView[];
  findings: Finding[];
  actions: PlannedAction[];
}

export interface Plan {
  now: Date;
  accountId: string;
  strategy: Inventory['strategy'];
  machinePath: string;
  users: UserPlan[];
  findings: Finding[];
  actions: PlannedAction[];
}

const SEVERITY: Record<FindingCode, Severity> = {
  'stale-key': 'high',
  'unused-key': 'medium',
  'never-used-key': 'low',
  'two-active-keys': 'medium',
  'inactive-key-past-retention': 'low',
  'console-password': 'high',
  'admin-policy': 'high',
  'missing-owner': 'medium',
  'quarantine-policy': 'high',
};

/** Machine users are the users whose IAM path is the machine path or nested below it. */
export function isMachineUser(user: Pick<UserRecord, 'path'>, machinePath: string): boolean {
  return user.path.startsWith(machinePath);
}

/** The pure planner: (inventory, policy, now) -> findings and actions, each action with its reason. */
export function plan(inventory: Inventory, policy: PlanPolicy, now: Date): Plan {
  const users = inventory.users.map((user) =>
    planUser(user, policy, now, inventory.managed?.[user.userName]?.cutoverAt),
  );
  return {
    now,
    accountId: inventory.accountId,
    strategy: inventory.strategy,
    machinePath: policy.machinePath,
    users,
    findings: users.flatMap((u) => u.findings),
    actions: users.flatMap((u) => u.actions),
  };
}

export function keyLabel(key: KeyRef): string {
  return key.accessKeyId ?? (key.slot === undefined ? 'key' : `key slot ${key.slot}`);
}

/**
 * `cutoverAt`: the last cut-over keyrot recorded for this machine user. Between a cut-over and the
 * old key's retirement the user holds two keys on purpose: the keys older than the newest one are
 * keyrot's to retire (the retire function deactivates and deletes them), so they raise no findings,
 * no "two active keys" and no blocked rotation.
 */
function planUser(user: UserRecord, policy: PlanPolicy, now: Date, cutoverAt?: Date): UserPlan {
  const machine = isMachineUser(user, policy.machinePath);
  const limits = policy.policy;
  const findings: Finding[] = [];
  const actions: PlannedAction[] = [];
  const find = (code: FindingCode, detail: string, key?: KeyRef): Finding => {
    const finding: Finding = {
      code,
      severity: SEVERITY[code],
      userName: user.userName,
      ...(key ? { key } : {}),
      detail,
    };
    findings.push(finding);
    return finding;
  };
  /** Stale active keys, oldest first: the first one is what a rotation replaces. */
  const stale: Array<{ finding: Finding; key: KeyRef }> = [];
  const keys = [...user.keys]
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    .map((record) => viewKey(record, now));
  const newest = keys[keys.length - 1];
  const inGrace = machine && cutoverAt !== undefined && keys.length >= 2;
  const retiring = (view: KeyView) => inGrace && view !== newest;

  for (const view of keys) {
    if (retiring(view)) continue;
    const label = keyLabel(view.key);
    if (view.status === 'Active') {
      if (view.ageDays > limits.maxKeyAgeDays) {
        const detail = `${label} is ${view.ageDays} days old (maxKeyAgeDays ${limits.maxKeyAgeDays})`;
        stale.push({ finding: find('stale-key', detail, view.key), key: view.key });
      }
      if (view.lastUsedAt === undefined) {
        find('never-used-key', `${label} has never been used (created ${view.ageDays} days ago)`, view.key);
      } else if (view.idleDays >= limits.unusedKeyDays) {
        find(
          'unused-key',
          `${label} was last used ${view.idleDays} days ago (unusedKeyDays ${limits.unusedKeyDays})`,
          view.key,
        );
      }
    } else if (view.idleDays >= limits.deleteAfterDays) {
      find(
        'inactive-key-past-retention',
        `${label} is inactive and has been quiet for ${view.idleDays} days (deleteAfterDays ${limits.deleteAfterDays})`,
        view.key,
      );
    }
  }
  const active = keys.filter((k) => k.status === 'Active');
  if (active.length >= 2 && !inGrace) find('two-active-keys', 'both key slots hold active keys');
  const owner = user.tags[policy.ownerTag];
  // AWS attaches AWSCompromisedKeyQuarantine(V2|V3) when it finds a user's key exposed in public.
  const quarantine = user.policies.filter((p) => /^AWSCompromisedKeyQuarantine/.test(p.name));
  if (quarantine.length > 0) {
    find(
      'quarantine-policy',
      `AWS quarantined this user (${quarantine.map((p) => p.name).join(', ')}) after one of its keys was exposed; rotate the key (keyrot rotate --user ${user.userName} --compromised), review CloudTrail, then detach the policy`,
    );
  }
  if (machine) {
    if (user.hasConsolePassword)
      find('console-password', 'a machine user can sign in to the console; delete its login profile');
    const admin = adminGrants(user.policies);
    if (admin.length > 0) {
      const names = admin.map((g) => (g.via === 'user' ? g.name : `${g.name} (via ${g.via})`)).join(', ');
      find('admin-policy', `overpowered machine user: admin-level policies ${names}`);
    }
    if (owner === undefined || owner.trim() === '')
      find('missing-owner', `no "${policy.ownerTag}" tag names who owns this user`);
  }

  // Decide what to do about each finding. Human users (outside the machine path) are report-only.
  const handled = new Set<Finding>();
  const [rotation] = stale;
  if (machine && rotation !== undefined) {
    const blocked = active.length >= 2;
    actions.push({
      kind: blocked ? 'report' : 'rotate',
      userName: user.userName,
      key: rotation.key,
      reason: !blocked
        ? rotation.finding.detail
        : inGrace
          ? `rotation waits: ${rotation.finding.detail}, and the key it replaced last time is still active; keyrot retire deactivates it once nothing uses it (keyrot status --user ${user.userName})`
          : `rotation blocked: ${rotation.finding.detail}, but both key slots hold active keys; deactivate the key no consumer uses`,
    });
    for (const { finding } of stale) handled.add(finding);
  }
  for (const finding of findings) {
    if (handled.has(finding)) continue;
    const deletable = machine && finding.code === 'inactive-key-past-retention';
    actions.push({
      kind: deletable ? 'delete-key' : 'report',
      userName: user.userName,
      ...(finding.key ? { key: finding.key } : {}),
      reason: machine
        ? finding.detail
        : `${finding.detail}; not a machine user (path ${user.path}), so keyrot only reports it`,
    });
  }

  for (const view of keys) {
    view.findings = findings.filter((f) => sameKey(f.key, view.key)).map((f) => f.code);
    const own = actions.filter((a) => sameKey(a.key, view.key)).map((a) => a.kind);
    view.action = own.includes('rotate')
      ? 'rotate'
      : own.includes('delete-key')
        ? 'delete-key'
        : own.length > 0
          ? 'report'
          : 'none';
  }
  return {
    userName: user.userName,
    arn: user.arn,
    path: user.path,
    isMachineUser: machine,
    ...(owner ? { owner } : {}),
    keys,
    findings,
    actions,
  };
}

function viewKey(record: AccessKeyRecord, now: Date): KeyView {
  const key: KeyRef = {
    ...(record.accessKeyId ? { accessKeyId: record.accessKeyId } : {}),
    ...(record.slot ? { slot: record.slot } : {}),
  };
  return {
    key,
    status: record.status,
    createdAt: record.createdAt,
    ageDays: wholeDaysBetween(record.createdAt, now),
    ...(record.lastUsedAt ? { lastUsedAt: record.lastUsedAt } : {}),
    ...(record.lastUsedService ? { lastUsedService: record.lastUsedService } : {}),
    idleDays: wholeDaysBetween(record.lastUsedAt ?? record.createdAt, now),
    findings: [],
    action: 'none',
  };
}

function sameKey(a: KeyRef | undefined, b: KeyRef): boolean {
  if (a === undefined) return false;
  if (a.accessKeyId !== undefined || b.accessKeyId !== undefined) return a.accessKeyId === b.accessKeyId;
  return a.slot === b.slot;
}
