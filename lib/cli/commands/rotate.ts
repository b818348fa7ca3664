import { emergencyAlert, redeployFailedAlert } from '../../alerts/alerts.js';
import { createClients } from '../../aws/clients.js';
import { classifyAwsError } from '../../aws/errors.js';
import { simulatedClock, systemClock } from '../../clock.js';
import { KeyrotError, UsageError } from '../../errors.js';
import { rotationDeps } from '../../rotation/deps.js';
import { type RotationResult, rotateUser } from '../../rotation/driver.js';
import { emergencyRotate } from '../../rotation/emergency.js';
import { restartRotation } from '../../rotation/restart.js';
import { scanAccount } from '../../scan.js';
import { problemText } from '../../targets/run.js';
import { alertFromCli } from '../alerting.js';
import { parseFlags, parseNowForChange } from '../args.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const rotateHelp = `Usage: keyrot rotate (--user NAME ... | --due) [--now ISO-DATE] [--config FILE]
       keyrot rotate --user NAME --restart
       keyrot rotate --user NAME --compromised [--key ACCESS_KEY_ID] [--delete-old]

Rotates machine users' keys into Secrets Manager, running the four rotation steps locally exactly as
the rotate Lambda does: a new key is created and stored as AWSPENDING, pushed to the user's targets,
proven with sts:GetCallerIdentity, then made AWSCURRENT. The old key stays active (keyrot retire
deactivates it later). A user without a secret is onboarded: its secret is created first.
  --user NAME       rotate this machine user (repeatable)
  --due             rotate exactly the users "keyrot plan" marks for rotation
  --now ISO-DATE    act as of this date: what is due (--due), and the times recorded on the secret.
                    Only with AWS_ENDPOINT_URL pointing at a local emulator
  --compromised     emergency, in any state: with no free key slot, the key that is not AWSCURRENT's
                    is deactivated and deleted first; then the user is rotated, and once the new key
                    is current and pushed, every other key is deactivated at once, whatever its use
  --key ID          with --compromised: the leaked key, when keyrot can't tell which one it is
  --delete-old      with --compromised: delete the old keys too
  --restart         a stuck rotation (keyrot status says STUCK) whose pending version holds no key,
                    or a key IAM no longer has: take its AWSPENDING label off, then rotate afresh.
                    A pending key that still exists is never cancelled: finish that rotation instead
  --config FILE     keyrot config; default: $KEYROT_CONFIG_FILE, else ./keyrot.config.yaml, else
                    built-in defaults
Prints the new key id and the secret it went into, never the secret key. Deleting an inactive key
to make room is said, with its id.
Exit 4 when a rotation could not go ahead now (another one in progress, no free key slot, or the key
guard kept a key that is in use or a rollback reserve); exit 5 when the user is broken.
`;

export async function rotateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('rotate', argv, {
    user: { type: 'string', multiple: true },
    due: { type: 'boolean' },
    now: { type: 'string' },
    config: { type: 'string' },
    compromised: { type: 'boolean' },
    'delete-old': { type: 'boolean' },
    key: { type: 'string' },
    restart: { type: 'boolean' },
  });
  const users = values.user ?? [];
  if (users.length > 0 === (values.due === true)) {
    throw new UsageError('Give either --user NAME (one or more) or --due.');
  }
  if (values.compromised && users.length !== 1)
    throw new UsageError('--compromised takes exactly one --user NAME.');
  if (values['delete-old'] && !values.compromised)
    throw new UsageError('--delete-old only applies with --compromised.');
  if (values.key !== undefined && !values.compromised)
    throw new UsageError('--key only applies with --compromised: it names the leaked key.');
  if (values.restart && (users.length !== 1 || values.compromised))
    throw new UsageError('--restart takes exactly one --user NAME, and not --compromised.');
  const now = parseNowForChange(values.now, 'rotate');
  const { config } = await resolveConfig(values.config, io);
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
  // With --now the rotation is stamped (intent, cut-over) on the simulated timeline, so retire and
  // status, run with later --now dates, see a consistent history.
  const deps = rotationDeps(clients, now ? simulatedClock(now) : systemClock, config);
  if (values.compromised) {
    const [userName = ''] = users;
    const result = await emergencyRotate(deps, config, userName, {
      deleteOld: values['delete-old'] === true,
      ...(values.key !== undefined ? { leakedKeyId: values.key } : {}),
    });
    if (result.clearedForRoom.length > 0)
      io.stdout(
        `${userName}: deactivated and deleted ${result.clearedForRoom.join(', ')} first, to free a key slot for the new key.\n`,
      );
    const old = result.deactivated.join(', ') || '(none was active)';
    io.stdout(`${describe(result)}\n`);
    io.stdout(
      `URGENT: the old keys of ${userName}, ${old}, were ${result.deleted.length > 0 ? 'deactivated and deleted' : 'deactivated'} at once, whatever their use. A consumer still on one of them now fails: move it to ${result.secretName}.\n`,
    );
    await alertFromCli(config, clients, deps.clock, io, (accountId) => [
      emergencyAlert({ accountId, ...result }),
      ...redeployAlerts(accountId, result),
    ]);
    return 0;
  }
  if (values.restart) {
    const [userName = ''] = users;
    const restart = await restartRotation(deps, config, userName);
    io.stdout(
      restart.cancelledVersion
        ? `${userName}: cancelled the unfinished rotation (AWSPENDING version ${restart.cancelledVersion}: ${restart.why}).\n`
        : `${userName}: no unfinished rotation to cancel; rotating.\n`,
    );
  }
  let exitCode = 0;
  for (const userName of targets) {
    try {
      const result = await rotateUser(deps, config, userName);
      io.stdout(`${describe(result)}\n`);
      if (result.redeployFailures.length > 0)
        await alertFromCli(config, clients, deps.clock, io, (accountId) => redeployAlerts(accountId, result));
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
  const notes = [
    ...result.deletedForRoom.map((id) => `deleted the inactive key ${id} to make room`),
    ...result.orphansDeleted.map((id) => `deleted ${id}, a key a crashed attempt made and never stored`),
  ];
  const redeploys = result.redeployFailures.map(
    (f) =>
      `\n  ${result.userName}: WARNING: the redeploy of ${f.targetType} target "${f.targetName}" failed (the new key is current and stored there; redeploy the consumer by hand): ${problemText(f.error)}`,
  );
  return `${result.userName}: new key ${result.accessKeyId} is AWSCURRENT in ${result.secretName}${how ? ` (${how})` : ''}${notes.map((n) => `\n  ${result.userName}: ${n}`).join('')}${redeploys.join('')}`;
}

/** One redeploy-failed alert per failed redeploy of a rotation. */
function redeployAlerts(accountId: string, result: RotationResult) {
  return result.redeployFailures.map((f) =>
    redeployFailedAlert({ accountId, userName: result.userName, ...f }),
  );
}
