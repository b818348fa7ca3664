import { createClients } from '../../aws/clients.js';
import { classifyAwsError } from '../../aws/errors.js';
import { simulatedClock, systemClock } from '../../clock.js';
import { KeyrotError, UsageError } from '../../errors.js';
import { rotationDeps } from '../../rotation/deps.js';
import { type RotationResult, rotateUser } from '../../rotation/driver.js';
import { scanAccount } from '../../scan.js';
import { parseFlags, parseNow } from '../args.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const rotateHelp = `Usage: keyrot rotate (--user NAME ... | --due) [--now ISO-DATE] [--config FILE]

Rotates machine users' keys into Secrets Manager, running the four rotation steps locally exactly as
the rotate Lambda does: a new key is created and stored as AWSPENDING, pushed to the user's targets,
proven with sts:GetCallerIdentity, then made AWSCURRENT. The old key stays active (keyrot retire
deactivates it later). A user without a secret is onboarded: its secret is created first.
  --user NAME       rotate this machine user (repeatable)
  --due             rotate exactly the users "keyrot plan" marks for rotation
  --now ISO-DATE    with --due: decide what is due as of this date
  --config FILE     keyrot config; default: $KEYROT_CONFIG_FILE, else built-in defaults
Prints the new key id and the secret it went into, never the secret key.
Exit 4 when a rotation could not go ahead now (another one in progress, or no free key slot).
`;

export async function rotateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('rotate', argv, {
    user: { type: 'string', multiple: true },
    due: { type: 'boolean' },
    now: { type: 'string' },
    config: { type: 'string' },
  });
  const users = values.user ?? [];
  if (users.length > 0 === (values.due === true)) {
    throw new UsageError('Give either --user NAME (one or more) or --due.');
  }
  const now = parseNow(values.now);
  if (now !== undefined && !values.due) throw new UsageError('--now only applies with --due.');
  const { config } = await resolveConfig(values.config);
  const clients = createClients();
  let targets = users;
  if (values.due) {
    const when = (now ? simulatedClock(now) : systemClock).now();
    const { plan } = await scanAccount({ clients, clock: systemClock }, config, when);
    targets = plan.actions.filter((a) => a.kind === 'rotate').map((a) => a.userName);
    io.stdout(
      `${targets.length} machine user${targets.length === 1 ? '' : 's'} due for rotation${targets.length ? `: ${targets.join(', ')}` : '.'}\n`,
    );
  }
  const deps = rotationDeps(clients, systemClock, config);
  let exitCode = 0;
  for (const userName of targets) {
    try {
      io.stdout(`${describe(await rotateUser(deps, config, userName))}\n`);
    } catch (raw) {
      const error = classifyAwsError(raw);
      if (!(error instanceof KeyrotError) || targets.length === 1) throw error;
      io.stderr(`keyrot: ${userName}: ${error.message}\n`);
      exitCode = Math.max(exitCode, error.exitCode);
    }
  }
  return exitCode;
}

function describe(result: RotationResult): string {
  const how = [result.onboarded ? 'onboarded' : '', result.resumed ? 'resumed an unfinished rotation' : '']
    .filter(Boolean)
    .join(', ');
  return `${result.userName}: new key ${result.accessKeyId} is AWSCURRENT in ${result.secretName}${how ? ` (${how})` : ''}`;
}
