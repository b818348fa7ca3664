import type { Config } from '../config.js';
import { BrokenUserError, KeyrotError, NotManagedError } from '../errors.js';
import { cancelPending, secretNameFor, unfinishedToken } from '../secret/secret.js';
import { keyIdOf, readManagedUser } from '../secret/state.js';
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
 * back, then the rotation is cancelled (recorded, and AWSPENDING taken off the pending version). No
 * target is left holding a key that retirement will deactivate: the pending key becomes an ordinary
 * replaced key, retired as usual (and held while any target still shows it). Re-running after a
 * crash converges.
 *
 * The user comes from IAM and the secret must agree with it. Refused, changing nothing: a rotation
 * that already made its key AWSCURRENT (there is no earlier key to go back to), and a broken user
 * (AWSCURRENT's key missing or inactive), whose current key pushed back would take a working key away
 * from the targets.
 */
export async function abandonRotation(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<AbandonResult> {
  const managed = await readManagedUser(deps, config, userName);
  if (managed === undefined) {
    throw new NotManagedError(
      `${userName} has no keyrot secret (${secretNameFor(config, userName)}), so there is no rotation to abandon.`,
    );
  }
  const { snapshot, stages } = managed;
  const pendingVersion = unfinishedToken(snapshot);
  if (pendingVersion !== undefined && pendingVersion === stages.current?.versionId) {
    throw new KeyrotError(
      `The unfinished rotation of ${userName} already made its version ${pendingVersion} AWSCURRENT, so there is no earlier key to go back to. Finish it instead: keyrot rotate --user ${userName}.`,
    );
  }
  if (managed.broken) {
    throw new BrokenUserError(
      `Can't abandon the rotation of ${userName}: ${managed.broken.detail}. The targets would get that key back in place of the pending one; finish the rotation instead: keyrot rotate --user ${userName}.`,
      managed.broken,
    );
  }
  const current = stages.current;
  // Not broken, so AWSCURRENT holds a working credential, unless nothing is current yet at all.
  if (current?.kind !== 'credential') {
    throw new KeyrotError(
      `${snapshot.name} has no current key to go back to; finish the rotation instead: keyrot rotate --user ${userName}.`,
    );
  }
  // Targets whose last record is not the current version: they got the pending key (or a crash
  // of an earlier abandon left them so).
  const records = readTargetRecords(snapshot.tags);
  const configured = new Set(config.users[userName]?.targets.map((t) => t.name));
  const behind = [...records.values()]
    .filter((r) => configured.has(r.name) && r.state === 'received' && r.versionId !== current.versionId)
    .map((r) => r.name);
  if (pendingVersion === undefined && behind.length === 0)
    throw new KeyrotError(`${userName} has no unfinished rotation to abandon.`);
  // With no target behind, the subset is empty and the push makes no call.
  const subset: RotationDeps = {
    ...deps,
    targetsFor: (name) => deps.targetsFor(name).filter((t) => behind.includes(t.name)),
  };
  await pushToUserTargets(
    subset,
    { secretId: snapshot.arn, versionId: current.versionId, userName, snapshot },
    current.value,
    'the current key back',
  );
  const abandonedKeyId = pendingVersion === undefined ? undefined : keyIdOf(stages.pending);
  if (pendingVersion !== undefined)
    await cancelPending(deps.clients.secrets, snapshot.arn, pendingVersion, deps.clock.now());
  return {
    userName,
    secretName: snapshot.name,
    ...(abandonedKeyId ? { abandonedKeyId } : {}),
    currentKeyId: current.value.AccessKeyId,
    restoredTargets: behind,
  };
}
