import { keyLabel, type Plan } from '../policy/plan.js';

const date = (d: Date | undefined) => (d === undefined ? 'never' : d.toISOString().slice(0, 10));

/** Renders rows as aligned columns, the first row being the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** The human-readable plan: one row per key (or per user finding), then the actions with reasons. */
export function formatPlan(
  plan: Plan,
  context: { simulated: boolean; collectedAt: Date; reportGeneratedAt?: Date; maxStartsPerRun?: number },
): string {
  const lines: string[] = [];
  lines.push(
    `keyrot plan · account ${plan.accountId} · ${plan.users.length} users · machine path ${plan.machinePath} · strategy ${plan.strategy}`,
  );
  lines.push(`as of ${plan.now.toISOString()}${context.simulated ? ' (simulated with --now)' : ''}`);
  const rows: string[][] = [
    ['USER', 'KEY', 'STATUS', 'AGE', 'LAST USED', 'FINDING', 'ACTION'],
    ...planRows(plan),
  ];
  lines.push('', table(rows));
  const reports = plan.actions.filter((a) => a.kind === 'report');
  lines.push(
    '',
    `Planned: ${count(plan, 'rotate')} rotate, ${count(plan, 'delete-key')} delete, ${reports.length} to report.`,
  );
  const rotations = count(plan, 'rotate');
  const max = context.maxStartsPerRun;
  if (max !== undefined && rotations > max) {
    lines.push(
      `  The scan starts ${max} rotations per run (rotation.maxStartsPerRun), most overdue first; ${rotations - max} are queued for later runs.`,
    );
  }
  lines.push(...actionLines(plan));
  if (plan.users.some((u) => u.keys.some((k) => k.key.accessKeyId === undefined))) {
    lines.push(
      '',
      '"key slot N": the credential report names keys by slot; keyrot looks up the ids of keys it acts on (--strategy exact shows all ids).',
    );
  }
  const reportAgeMinutes = context.reportGeneratedAt
    ? Math.floor((context.collectedAt.getTime() - context.reportGeneratedAt.getTime()) / 60_000)
    : 0;
  // IAM serves a report for up to 4 hours; an age outside (5 minutes, 1 day) is an emulator's placeholder.
  if (reportAgeMinutes > 5 && reportAgeMinutes < 24 * 60) {
    lines.push(
      `Key data is from a credential report generated ${Math.floor(reportAgeMinutes / 60)}h ${reportAgeMinutes % 60}m ago (IAM reuses one for up to 4 hours; --strategy exact reads live data).`,
    );
  }
  lines.push('keyrot plan changes nothing.');
  return `${lines.join('\n')}\n`;
}

/** One account's part of `keyrot plan --org`: its plan, or why it could not be read. */
export type OrgPlanPart = { account: string; plan: Plan } | { account: string; error: string };

/**
 * The organization's plan: the single-account table with an ACCOUNT column first, the actions with
 * their account, and each account that could not be read, named, with what to do.
 */
export function formatOrgPlan(
  parts: readonly OrgPlanPart[],
  context: { simulated: boolean; now: Date; maxStartsPerRun?: number },
): string {
  const plans = parts.flatMap((p) => ('plan' in p ? [p] : []));
  const failed = parts.flatMap((p) => ('error' in p ? [p] : []));
  const lines: string[] = [
    `keyrot plan --org · ${parts.length} account${parts.length === 1 ? '' : 's'} · ${plans.reduce((n, p) => n + p.plan.users.length, 0)} users`,
    `as of ${context.now.toISOString()}${context.simulated ? ' (simulated with --now)' : ''}`,
  ];
  const rows: string[][] = [['ACCOUNT', 'USER', 'KEY', 'STATUS', 'AGE', 'LAST USED', 'FINDING', 'ACTION']];
  for (const { account, plan } of plans) for (const row of planRows(plan)) rows.push([account, ...row]);
  for (const { account } of failed) rows.push([account, '-', '-', '-', '-', '-', 'UNREADABLE', '-']);
  lines.push('', table(rows));
  const total = (kind: string) => plans.reduce((n, p) => n + count(p.plan, kind), 0);
  lines.push(
    '',
    `Planned: ${total('rotate')} rotate, ${total('delete-key')} delete, ${total('report')} to report, in ${plans.length} account${plans.length === 1 ? '' : 's'}.`,
  );
  const max = context.maxStartsPerRun;
  for (const { account, plan } of plans) {
    const rotations = count(plan, 'rotate');
    if (max !== undefined && rotations > max)
      lines.push(
        `  ${account}: the scan starts ${max} rotations per run (rotation.maxStartsPerRun), most overdue first; ${rotations - max} are queued for later runs.`,
      );
  }
  for (const { account, plan } of plans) lines.push(...actionLines(plan, `${account} `));
  if (failed.length > 0) {
    lines.push('', `${failed.length} account${failed.length === 1 ? '' : 's'} could not be read:`);
    for (const { account, error } of failed) lines.push(`  ${account}: ${error}`);
  }
  lines.push('keyrot plan changes nothing.');
  return `${lines.join('\n')}\n`;
}

/** The plan's table rows (without the header): one per key, then one per user-level finding. */
export function planRows(plan: Plan): string[][] {
  const rows: string[][] = [];
  for (const user of plan.users) {
    const name = user.isMachineUser ? user.userName : `${user.userName} (human)`;
    for (const key of user.keys) {
      const used = key.lastUsedAt
        ? `${date(key.lastUsedAt)}${key.lastUsedService ? ` ${key.lastUsedService}` : ''}`
        : 'never';
      rows.push([
        name,
        keyLabel(key.key),
        key.status,
        `${key.ageDays}d`,
        used,
        key.findings.join(',') || '-',
        action(key.action),
      ]);
    }
    for (const finding of user.findings.filter((f) => f.key === undefined)) {
      rows.push([name, '-', '-', '-', '-', finding.code, 'report']);
    }
    if (user.keys.length === 0 && user.findings.length === 0)
      rows.push([name, '(no keys)', '-', '-', '-', '-', '-']);
  }
  return rows;
}

/** One line per planned action with its reason, acting ones first; `prefix` names the account in org mode. */
export function actionLines(plan: Plan, prefix = ''): string[] {
  const acting = plan.actions.filter((a) => a.kind !== 'report');
  const reports = plan.actions.filter((a) => a.kind === 'report');
  return [...acting, ...reports].map(
    (a) =>
      `  ${action(a.kind).padEnd(6)}  ${prefix}${a.userName}${a.key ? ` ${keyLabel(a.key)}` : ''}: ${a.reason}`,
  );
}

function action(kind: string): string {
  return kind === 'delete-key' ? 'delete' : kind === 'none' ? '-' : kind;
}

function count(plan: Plan, kind: string): number {
  return plan.actions.filter((a) => a.kind === kind).length;
}
