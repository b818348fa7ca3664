import { createClients } from '../../aws/clients.js';
import { simulatedClock, systemClock } from '../../clock.js';
import { UsageError } from '../../errors.js';
import { scanAccount } from '../../scan.js';
import { parseFlags, parseNow } from '../args.js';
import { formatPlan } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const planHelp = `Usage: keyrot plan [--config FILE] [--now ISO-DATE] [--json] [--strategy report|exact]

Reads IAM and shows each user's keys, what is wrong with them and what keyrot would do. Changes nothing.
  --config FILE     keyrot config (YAML or JSON); default: $KEYROT_CONFIG_FILE, else built-in defaults
  --now ISO-DATE    plan as if it were this date (e.g. 2027-03-01) to see what will become due
  --json            print the plan as JSON
  --strategy S      override inventory.strategy: "report" (credential report) or "exact" (per-user calls)
`;

export async function planCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('plan', argv, {
    config: { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
    strategy: { type: 'string' },
  });
  const now = parseNow(values.now);
  const strategy = values.strategy;
  if (strategy !== undefined && strategy !== 'report' && strategy !== 'exact') {
    throw new UsageError(`--strategy "${strategy}" is not one of "report", "exact".`);
  }
  const { config } = await resolveConfig(values.config, io);
  const clock = now ? simulatedClock(now) : systemClock;
  const result = await scanAccount(
    { clients: createClients(), clock: systemClock },
    config,
    clock.now(),
    strategy,
  );
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ ...result.plan, reportGeneratedAt: result.inventory.reportGeneratedAt }, null, 2)}\n`,
    );
  } else {
    io.stdout(
      formatPlan(result.plan, {
        simulated: now !== undefined,
        collectedAt: result.inventory.collectedAt,
        ...(result.inventory.reportGeneratedAt
          ? { reportGeneratedAt: result.inventory.reportGeneratedAt }
          : {}),
      }),
    );
  }
  return 0;
}
