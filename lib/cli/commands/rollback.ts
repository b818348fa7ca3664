import { rollbackAlert } from '../../alerts/alerts.js';
import { createClients } from '../../aws/clients.js';
import { simulatedClock, systemClock } from '../../clock.js';
import { UsageError } from '../../errors.js';
import { abandonRotation } from '../../rotation/abandon.js';
import { rotationDeps } from '../../rotation/deps.js';
import { rollbackUser } from '../../rotation/rollback.js';
import { alertFromCli } from '../alerting.js';
import { parseFlags, parseNowForChange } from '../args.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const rollbackHelp = `Usage: keyrot rollback --user NAME [--abandon] [--now ISO-DATE] [--config FILE]

For when a new key breaks a consumer: makes the previous key current again while it still exists.
It reactivates the previous key, moves AWSCURRENT back to its version, pushes it to the targets
again and records the cut-over. The newer key becomes AWSPREVIOUS and is retired as usual. The
secret's version history stays intact. Refused once the previous key has been deleted.
  --abandon         abandon an unfinished rotation instead: the targets that received its pending
                    key get the current key back, and AWSPENDING is removed; the pending key is then
                    retired as usual. Refused for a broken user and for a rotation already made
                    current: finish those with keyrot rotate --user NAME
`;

export async function rollbackCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('rollback', argv, {
    user: { type: 'string' },
    now: { type: 'string' },
    config: { type: 'string' },
    abandon: { type: 'boolean' },
  });
  if (!values.user) throw new UsageError('Give the user to roll back: --user NAME.');
  const now = parseNowForChange(values.now, 'rollback');
  const { config } = await resolveConfig(values.config, io);
  const clients = createClients();
  const deps = rotationDeps(clients, now ? simulatedClock(now) : systemClock, config);
  if (values.abandon) {
    const a = await abandonRotation(deps, config, values.user);
    io.stdout(
      `${a.userName}: abandoned the unfinished rotation${a.abandonedKeyId ? ` of ${a.abandonedKeyId}` : ''}; ${a.currentKeyId} stays AWSCURRENT in ${a.secretName}${a.restoredTargets.length > 0 ? ` and was pushed back to ${a.restoredTargets.join(', ')}` : ''}\n`,
    );
    return 0;
  }
  const r = await rollbackUser(deps, config, values.user);
  io.stdout(
    r.completed
      ? `${r.userName}: completed an interrupted rollback; ${r.restoredKeyId} is AWSCURRENT in ${r.secretName}\n`
      : `${r.userName}: rolled back; ${r.restoredKeyId}${r.reactivated ? ' (reactivated)' : ''} is AWSCURRENT in ${r.secretName} again; ${r.replacedKeyId ?? 'the newer key'} is now AWSPREVIOUS and will be retired\n`,
  );
  if (!r.completed)
    await alertFromCli(config, clients, deps.clock, io, (accountId) => [rollbackAlert({ accountId, ...r })]);
  return 0;
}
