import { readFile } from 'node:fs/promises';
import { usageLines } from '../../alerts/alerts.js';
import { keyUsageLookup } from '../../alerts/key-usage.js';
import { createClients, createCloudTrailClient } from '../../aws/clients.js';
import { cloudTrailLookup } from '../../aws/cloudtrail.js';
import { classifyAwsError } from '../../aws/errors.js';
import { systemClock } from '../../clock.js';
import { UsageError } from '../../errors.js';
import { leakAlerts, withExposedKeyCalls } from '../../leak/alerts.js';
import { parseExposedKeysEvent } from '../../leak/event.js';
import { respondToLeak } from '../../leak/respond.js';
import { rotationDeps } from '../../rotation/deps.js';
import { parseFlags } from '../args.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const respondHelp = `Usage: keyrot respond --event FILE [--delete-exposed] [--config FILE]

The leak response, from a saved AWS Health event (AWS_RISK_CREDENTIALS_EXPOSED): to rehearse it, or
to handle an event that arrived elsewhere. For each exposed key: a machine user's key is rotated at
once as an emergency (new key pushed to every target and proven, then the exposed key and every
other old key deactivated); a key already rotated away is reported as already handled; a human's
key, or one keyrot can't find, is only reported with the steps to take. Prints what was done and
what is left for a person (review CloudTrail: the exposed key's calls are shown when CloudTrail
answers; remove AWS's quarantine policy once satisfied).
  --event FILE       the Health event as JSON (as EventBridge delivers it)
  --delete-exposed   delete the exposed key too, not only deactivate it
Exit 1 when the response failed for a key; 2 when the file is not such an event (nothing changed).
`;

export async function respondCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('respond', argv, {
    event: { type: 'string' },
    'delete-exposed': { type: 'boolean' },
    config: { type: 'string' },
  });
  if (!values.event) throw new UsageError('Give the saved Health event: --event FILE.');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(values.event, 'utf8'));
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ENOENT';
    throw new UsageError(
      missing
        ? `There is no file ${values.event}. Pass the path of a saved AWS Health event (JSON, as EventBridge delivers it).`
        : `Cannot read the event ${values.event}: ${error instanceof Error ? error.message : String(error)}. Pass the event JSON as EventBridge delivers it.`,
      { cause: error },
    );
  }
  const event = parseExposedKeysEvent(raw);
  const { config } = await resolveConfig(values.config, io);
  const deps = rotationDeps(createClients(), systemClock, config);
  const outcomes = await respondToLeak(deps, config, event, {
    deleteExposed: values['delete-exposed'] === true,
  });
  // What each exposed key did, from CloudTrail; a failed lookup is said, and the steps give the command.
  const enrich = withExposedKeyCalls(
    keyUsageLookup(cloudTrailLookup(createCloudTrailClient({ maxAttempts: 3 })), undefined, (keyId, error) =>
      io.stderr(
        `keyrot: CloudTrail lookup for ${keyId} failed: ${messageOf(classifyAwsError(error))} The response itself is done; look again later with the command in the steps below.\n`,
      ),
    ),
  );
  for (const found of leakAlerts(event, outcomes)) {
    const alert = await enrich(found);
    const lines = [...alert.lines, ...usageLines(alert.usage, alert.kind)];
    io.stdout(`${alert.title}\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    io.stdout(`${alert.nextSteps.map((l) => `  - ${l}`).join('\n')}\n\n`);
  }
  return outcomes.some((o) => o.outcome === 'failed') ? 1 : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
