import { accountLabel, acrossAccounts, exitCodeOf } from '../../accounts/across.js';
import { createClients, createOrganizationsClient } from '../../aws/clients.js';
import { simulatedClock, systemClock } from '../../clock.js';
import { UsageError } from '../../errors.js';
import { scanAccount } from '../../scan.js';
import { parseFlags, parseNow } from '../args.js';
import { formatOrgPlan, formatPlan } from '../format.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const planHelp = `Usage: keyrot plan [--config FILE] [--now ISO-DATE] [--json] [--strategy report|exact] [--org]

Reads IAM and shows each user's keys, what is wrong with them and what keyrot would do. Changes nothing.
  --config FILE     keyrot config (YAML or JSON); default: $KEYROT_CONFIG_FILE, else built-in defaults
  --now ISO-DATE    plan as if it were this date (e.g. 2027-03-01) to see what will become due
  --json            print the plan as JSON
  --strategy S      override inventory.strategy: "report" (credential report) or "exact" (per-user calls)
  --org             every account of the organization (accounts.include / exclude), from the hub's
                    credentials: assumes accounts.memberRole in each, accounts.concurrency at a time,
                    and adds an ACCOUNT column. An account that can't be read is named with what to do,
                    and the exit code is non-zero (3 when its role could not be assumed)
`;

export async function planCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('plan', argv, {
    config: { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
    strategy: { type: 'string' },
    org: { type: 'boolean' },
  });
  const now = parseNow(values.now);
  const strategy = values.strategy;
  if (strategy !== undefined && strategy !== 'report' && strategy !== 'exact') {
    throw new UsageError(`--strategy "${strategy}" is not one of "report", "exact".`);
  }
  const { config } = await resolveConfig(values.config, io);
  const clock = now ? simulatedClock(now) : systemClock;
  if (values.org) {
    const results = await acrossAccounts(
      { org: createOrganizationsClient(), sts: createClients().sts, clock: systemClock },
      config,
      (account) =>
        scanAccount({ clients: account.clients, clock: systemClock }, config, clock.now(), strategy),
    );
    const failed = results.flatMap((r) => (r.ok ? [] : [r]));
    for (const r of failed)
      io.stderr(`keyrot: account ${accountLabel(r)} could not be read: ${r.error.message}\n`);
    if (values.json) {
      const accounts = results.map(({ accountId, accountName, alias, ...r }) =>
        r.ok
          ? {
              accountId,
              accountName,
              alias,
              plan: { ...r.value.plan, reportGeneratedAt: r.value.inventory.reportGeneratedAt },
            }
          : { accountId, accountName, alias, error: r.error.message },
      );
      io.stdout(`${JSON.stringify({ now: clock.now(), accounts }, null, 2)}\n`);
    } else {
      io.stdout(
        formatOrgPlan(
          results.map((r) =>
            r.ok
              ? { account: accountLabel(r), plan: r.value.plan }
              : { account: accountLabel(r), error: r.error.message },
          ),
          {
            simulated: now !== undefined,
            now: clock.now(),
            maxStartsPerRun: config.rotation.maxStartsPerRun,
          },
        ),
      );
    }
    const [first] = failed;
    return first ? exitCodeOf(first.error) : 0;
  }
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
        maxStartsPerRun: config.rotation.maxStartsPerRun,
        ...(result.inventory.reportGeneratedAt
          ? { reportGeneratedAt: result.inventory.reportGeneratedAt }
          : {}),
      }),
    );
  }
  return 0;
}
