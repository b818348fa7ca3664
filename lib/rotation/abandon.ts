import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { KeyrotError, NotManagedError } from '../errors.js';
import { describeSecret, STAGE, secretNameFor, unfinishedToken, versionWith } from '../secret/secret.js';
import { readCredential } from '../secret/value.js';
import { readTargetRecords } from '../targets/state.js';
import type { RotationDeps } from './steps.js';
import { pushToUserTargets } from './targets.js';

export interface AbandonResult {
  userName: string;
  secretName: string;
  /** The key of the abandoned rotation: in no stage now; retirement takes it from here. */
  abandonedKeyId?: string;
  /** The key still AWSCURRENT, pushed back to the targets that had received the pending one. */
  currentKeyId: string;
  /** The targets that got the current key back. */
  restoredTargets: string[];
}

/**
 * Abandons an unfinished rotation: the targets that received its pending key get the current key
 * back, then AWSPENDING is taken off the pending version. No target is left holding a key that
 * retirement will deactivate: the pending key becomes an ordinary replaced key, retired as usual
 * (and held while any target still shows it). Re-running after a crash converges.
 */
export async function abandonRotation(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<AbandonResult> {
  const { secrets } = deps.clients;
  const snapshot = await describeSecret(secrets, secretNameFor(config, userName));
  if (snapshot.userName !== userName)
    throw new NotManagedError(`Secret ${snapshot.name} is not keyrot's secret for ${userName}.`);
  const currentVersion = versionWith(snapshot, STAGE.current);
  const current = await readCredential(secrets, snapshot.arn, currentVersion);
  if (currentVersion === undefined || current === undefined)
    throw new KeyrotError(`${snapshot.name} has no current key to go back to; finish the rotation instead.`);
  const pendingVersion = unfinishedToken(snapshot);
  const records = readTargetRecords(snapshot.tags);
  // Targets whose last record is not the current version: they got the pending key (or a crash
  // of an earlier abandon left them so).
  const configured = new Set((config.users[userName]?.targets ?? []).map((t) => t.name));
  const behind = [...records.values()]
    .filter((r) => configured.has(r.name) && r.state === 'received' && r.versionId !== currentVersion)
    .map((r) => r.name);
  if (pendingVersion === undefined && behind.length === 0)
    throw new KeyrotError(`${userName} has no unfinished rotation to abandon.`);
  const pending =
    pendingVersion === undefined ? undefined : await readCredential(secrets, snapshot.arn, pendingVersion);
  if (behind.length > 0) {
    const subset: RotationDeps = {
      ...deps,
      targetsFor: (name) => deps.targetsFor(name).filter((t) => behind.includes(t.name)),
    };
    await pushToUserTargets(
      subset,
      { secretId: snapshot.arn, versionId: currentVersion, userName, snapshot },
      current,
      'the current key back',
    );
  }
  if (pendingVersion !== undefined && pendingVersion !== currentVersion) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: snapshot.arn,
        VersionStage: STAGE.pending,
        RemoveFromVersionId: pendingVersion,
      }),
    );
  }
  return {
    userName,
    secretName: snapshot.name,
    ...(pending ? { abandonedKeyId: pending.AccessKeyId } : {}),
    currentKeyId: current.AccessKeyId,
    restoredTargets: behind,
  };
}
