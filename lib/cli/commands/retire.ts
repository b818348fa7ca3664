import { retirementAlerts } from '../../alerts/alerts.js';
import { createClients } from '../../aws/clients.js';
import { simulatedClock, systemClock } from '../../clock.js';
import type { RetireDecision } from '../../retirement/plan.js';
import { retireAll, retireUser, type UserRetirement } from '../../retirement/retire.js';
import { alertFromCli } from '../alerting.js';
import { parseFlags, parseNow, parseNowForChange } from '../args.js';
import { table } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const retireHelp = `Usage: keyrot retire [--user NAME] [--now ISO-DATE] [--dry-run] [--config FILE]

Retires the keys that rotation replaced (AWSPREVIOUS, and keys from before keyrot), in two stages:
deactivate once policy.deactivateAfterDays have passed since the cut-over and the key has been idle
for policy.idleDaysBeforeDeactivate; delete once it has been inactive for policy.deleteAfterDays.
A key still in use is held and reported. Every change goes through the key guard, which re-reads
IAM and the secret first: AWSCURRENT's and AWSPENDING's keys, a user's last active key, keys used
within idleDaysBeforeDeactivate, broken users and users outside the machine path are never touched.
Exit 5 when a user is broken.
  --user NAME       only this machine user (default: every machine user with a keyrot secret)
  --now ISO-DATE    decide as of this date (times are also recorded as of it); without --dry-run,
                    only with AWS_ENDPOINT_URL pointing at a local emulator
  --dry-run         show what would be done; change nothing
`;

export async function retireCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('retire', argv, {
    user: { type: 'string' },
    now: { type: 'string' },
    'dry-run': { type: 'boolean' },
    config: { type: 'string' },
  });
  // A dry run changes nothing, so it may look ahead on a real account; a real run may not.
  const now = values['dry-run'] ? parseNow(values.now) : parseNowForChange(values.now, 'retire');
  const clock = now ? simulatedClock(now) : systemClock;
  const { config } = await resolveConfig(values.config, io);
  const deps = { clients: createClients(), clock };
  const options = { dryRun: values['dry-run'] === true };
  let results: Array<UserRetirement | { userName: string; error: unknown }>;
  if (values.user) {
    const one = await retireUser(deps, config, values.user, clock.now(), options);
    if (one === undefined) {
      io.stdout(
        `${values.user} has no keyrot secret yet, so nothing of it is retired. Onboard it: keyrot rotate --user ${values.user}\n`,
      );
      return 0;
    }
    results = [one];
  } else {
    results = await retireAll(deps, config, clock.now(), options);
  }
  const rows: string[][] = [['USER', 'KEY', 'ROLE', 'DECISION', 'WHY']];
  let failed = 0;
  let broken = 0;
  for (const result of results) {
    if ('error' in result) {
      failed++;
      io.stderr(
        `keyrot: ${result.userName}: ${result.error instanceof Error ? result.error.message : String(result.error)}\n`,
      );
      continue;
    }
    if (result.broken) {
      broken++;
      io.stderr(
        `keyrot: ${result.userName} is broken: ${result.broken.detail}. None of its keys was touched. Fix: ${result.broken.fix}\n`,
      );
      continue;
    }
    const refused = new Map((result.refused ?? []).map((r) => [r.decision, r.reason]));
    for (const d of result.decisions)
      rows.push([
        result.userName,
        d.accessKeyId,
        d.role,
        refused.has(d) ? 'kept' : label(d, options.dryRun),
        refused.get(d) ?? d.reason,
      ]);
    if (result.skipped) io.stderr(`keyrot: ${result.userName}: ${result.skipped}\n`);
  }
  io.stdout(
    `keyrot retire${options.dryRun ? ' --dry-run' : ''} · as of ${clock.now().toISOString()}${now ? ' (simulated with --now)' : ''}\n\n`,
  );
  io.stdout(`${rows.length > 1 ? table(rows) : 'No machine user has a keyrot secret yet.'}\n`);
  if (options.dryRun) io.stdout('\nDry run: nothing was changed.\n');
  else
    await alertFromCli(config, deps.clients, clock, io, (accountId) => retirementAlerts(accountId, results));
  return failed > 0 ? 1 : broken > 0 ? 5 : 0;
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
