import { createClients } from '../../aws/clients.js';
import { simulatedClock, systemClock } from '../../clock.js';
import type { RetireDecision } from '../../retirement/plan.js';
import { retireAll, retireUser, type UserRetirement } from '../../retirement/retire.js';
import { parseFlags, parseNow } from '../args.js';
import { table } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const retireHelp = `Usage: keyrot retire [--user NAME] [--now ISO-DATE] [--dry-run] [--config FILE]

Retires the keys that rotation replaced (AWSPREVIOUS, and keys from before keyrot), in two stages:
deactivate once policy.deactivateAfterDays have passed since the cut-over and the key has been idle
for policy.idleDaysBeforeDeactivate; delete once it has been inactive for policy.deleteAfterDays.
A key still in use is held and reported. AWSCURRENT's and AWSPENDING's keys, a user's only active
key and users outside the machine path are never touched.
  --user NAME       only this machine user (default: every machine user with a keyrot secret)
  --now ISO-DATE    decide as of this date (times are also recorded as of it)
  --dry-run         show what would be done; change nothing
`;

export async function retireCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('retire', argv, {
    user: { type: 'string' },
    now: { type: 'string' },
    'dry-run': { type: 'boolean' },
    config: { type: 'string' },
  });
  const now = parseNow(values.now);
  const clock = now ? simulatedClock(now) : systemClock;
  const { config } = await resolveConfig(values.config, io);
  const deps = { clients: createClients(), clock };
  const options = { dryRun: values['dry-run'] === true };
  const results = values.user
    ? [await retireUser(deps, config, values.user, clock.now(), options)].filter(
        (r): r is UserRetirement => r !== undefined,
      )
    : await retireAll(deps, config, clock.now(), options);
  const rows: string[][] = [['USER', 'KEY', 'ROLE', 'DECISION', 'WHY']];
  let failed = 0;
  for (const result of results) {
    if ('error' in result) {
      failed++;
      io.stderr(
        `keyrot: ${result.userName}: ${result.error instanceof Error ? result.error.message : String(result.error)}\n`,
      );
      continue;
    }
    for (const d of result.decisions)
      rows.push([result.userName, d.accessKeyId, d.role, label(d, options.dryRun), d.reason]);
    if (result.skipped) io.stderr(`keyrot: ${result.userName}: ${result.skipped}\n`);
  }
  io.stdout(
    `keyrot retire${options.dryRun ? ' --dry-run' : ''} · as of ${clock.now().toISOString()}${now ? ' (simulated with --now)' : ''}\n\n`,
  );
  io.stdout(`${rows.length > 1 ? table(rows) : 'No machine user has a keyrot secret yet.'}\n`);
  if (options.dryRun) io.stdout('\nDry run: nothing was changed.\n');
  return failed > 0 ? 1 : 0;
}

function label(d: RetireDecision, dryRun: boolean): string {
  const will = dryRun ? 'would ' : '';
  switch (d.kind) {
    case 'deactivate':
      return `${will}deactivate`;
    case 'delete':
      return `${will}delete`;
    case 'hold':
      return d.escalate ? 'HOLD (escalated)' : 'hold';
    case 'record-inactive':
      return `${will}start deletion clock`;
    case 'forget':
      return `${will}forget`;
    default:
      return d.kind;
  }
}
