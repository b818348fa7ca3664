import { createClients } from '../../aws/clients.js';
import { simulatedClock, systemClock, wholeDaysBetween } from '../../clock.js';
import { planRetirement } from '../../retirement/plan.js';
import { machineUserNames, readRetireState } from '../../retirement/retire.js';
import { unfinishedToken } from '../../secret/secret.js';
import { parseFlags, parseNow } from '../args.js';
import { table } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const statusHelp = `Usage: keyrot status [--user NAME] [--now ISO-DATE] [--json] [--config FILE]

Where each machine user stands: its current key and age, any rotation in progress, and each other
key with its state, last use, the days until its deactivation and deletion, and what holds it up.
Read-only.
`;

const day = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : '-');

export async function statusCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('status', argv, {
    user: { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
    config: { type: 'string' },
  });
  const now = parseNow(values.now) ?? systemClock.now();
  const { config } = await resolveConfig(values.config, io);
  const deps = { clients: createClients(), clock: values.now ? simulatedClock(now) : systemClock };
  const names = values.user ? [values.user] : await machineUserNames(deps, config);
  const users = [];
  for (const userName of names) {
    const read = await readRetireState(deps, config, userName);
    if (read === undefined) {
      users.push({ userName, managed: false as const });
      continue;
    }
    const { state, snapshot } = read;
    const decisions = planRetirement(state, config.policy, now);
    const current = state.keys.find((k) => k.accessKeyId === state.currentKeyId);
    users.push({
      userName,
      managed: true as const,
      secret: snapshot.name,
      currentKey: state.currentKeyId
        ? {
            accessKeyId: state.currentKeyId,
            ageDays: current ? wholeDaysBetween(current.createdAt, now) : undefined,
          }
        : undefined,
      rotationInProgress: unfinishedToken(snapshot) ?? null,
      cutoverAt: state.cutoverAt,
      otherKeys: decisions
        .filter((d) => d.role === 'previous' || d.role === 'pre-keyrot' || d.role === 'pending')
        .map((d) => {
          const key = state.keys.find((k) => k.accessKeyId === d.accessKeyId);
          return {
            accessKeyId: d.accessKeyId,
            role: d.role,
            status: key?.status,
            lastUsedAt: key?.lastUsedAt,
            next: d.kind,
            daysUntilDeactivation: d.deactivateOn
              ? Math.max(0, Math.ceil((d.deactivateOn.getTime() - now.getTime()) / 86_400_000))
              : undefined,
            daysUntilDeletion: d.deleteOn
              ? Math.max(0, Math.ceil((d.deleteOn.getTime() - now.getTime()) / 86_400_000))
              : undefined,
            why: d.reason,
          };
        }),
    });
  }
  if (values.json) {
    io.stdout(`${JSON.stringify({ now, users }, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [
    ['USER', 'CURRENT KEY', 'AGE', 'ROTATION', 'OTHER KEY', 'ROLE', 'STATE', 'LAST USED', 'NEXT', 'WHY'],
  ];
  for (const u of users) {
    if (!u.managed) {
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
        'not onboarded: keyrot rotate --user NAME',
      ]);
      continue;
    }
    const head = [
      u.userName,
      u.currentKey?.accessKeyId ?? '-',
      u.currentKey?.ageDays === undefined ? '-' : `${u.currentKey.ageDays}d`,
      u.rotationInProgress ? 'in progress' : '-',
    ];
    if (u.otherKeys.length === 0) rows.push([...head, '-', '-', '-', '-', '-', 'nothing to retire']);
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
  io.stdout(
    `keyrot status · as of ${now.toISOString()}${values.now ? ' (simulated with --now)' : ''}\n\n${table(rows)}\n`,
  );
  return 0;
}
