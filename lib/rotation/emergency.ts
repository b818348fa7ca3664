import type { Config } from '../config.js';
import { KeyrotError } from '../errors.js';
import { deactivateKey, deleteRetiredKey, readRetireState } from '../retirement/retire.js';
import { type RotationResult, rotateUser } from './driver.js';
import type { RotationDeps } from './steps.js';

export interface EmergencyResult extends RotationResult {
  /** The old keys taken out of service at once, whatever their use. */
  deactivated: string[];
  deleted: string[];
}

/**
 * The compromised-key path: rotate now; as soon as the new key is AWSCURRENT and pushed to every
 * target (the rotation has finished), deactivate every other key of the user whatever its use, and
 * delete them too with `deleteOld`. A consumer still on an old key breaks: that is the point.
 */
export async function emergencyRotate(
  deps: RotationDeps,
  config: Config,
  userName: string,
  options: { deleteOld?: boolean } = {},
): Promise<EmergencyResult> {
  const rotation = await rotateUser(deps, config, userName);
  const read = await readRetireState(deps, config, userName);
  const deactivated: string[] = [];
  const deleted: string[] = [];
  if (read) {
    if (read.state.currentKeyId !== rotation.accessKeyId) {
      throw new KeyrotError(
        `AWSCURRENT of ${rotation.secretName} moved away from the new key ${rotation.accessKeyId} during the emergency rotation; no old key was deactivated. Check keyrot status --user ${userName}.`,
      );
    }
    const held = new Set([read.state.currentKeyId, read.state.pendingKeyId]);
    const old = read.state.keys.filter((k) => !held.has(k.accessKeyId));
    for (const key of old) {
      if (key.status === 'Active') {
        await deactivateKey(deps, read.snapshot, userName, key.accessKeyId);
        deactivated.push(key.accessKeyId);
      }
      if (options.deleteOld) {
        await deleteRetiredKey(deps, read.snapshot, userName, key.accessKeyId);
        deleted.push(key.accessKeyId);
      }
    }
  }
  return { ...rotation, deactivated, deleted };
}
