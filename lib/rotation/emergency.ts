import type { Config } from '../config.js';
import { KeyrotError, UsageError } from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import type { ListedKey } from '../inventory/types.js';
import { changeKey } from '../secret/guard.js';
import { secretNameFor, unfinishedToken } from '../secret/secret.js';
import {
  getIamUser,
  type IamUser,
  keyIdOf,
  type ManagedUser,
  readManagedUser,
  requireMachineUser,
} from '../secret/state.js';
import { readTargetRecords } from '../targets/state.js';
import { type RotationResult, rotateUser } from './driver.js';
import type { RotationDeps } from './steps.js';

export interface EmergencyResult extends RotationResult {
  /** Keys taken out of service before the rotation, to free a slot for the new key. */
  clearedForRoom: string[];
  /** The old keys taken out of service at once, whatever their use. */
  deactivated: string[];
  deleted: string[];
  /** The user's targets whose record names the new key: it was pushed there and proven. */
  targetsUpdated: string[];
}

/**
 * The compromised-key path, in every state:
 * 1. no free slot (a user in its grace period holds two keys): the key that is not AWSCURRENT's is
 *    deactivated, then deleted, to make room; where neither key is AWSCURRENT's (a user keyrot has not
 *    onboarded), the leaked key named with `leakedKeyId` is;
 * 2. rotate: the new key is stored, pushed to every target, proven and made AWSCURRENT;
 * 3. every other key of the user is deactivated at once, whatever its use (deleted with `deleteOld`).
 * Everything is checked before anything changes, so a refused emergency leaves no empty secret.
 * Every deactivation and deletion goes through the key guard with the emergency purpose.
 */
export async function emergencyRotate(
  deps: RotationDeps,
  config: Config,
  userName: string,
  options: {
    deleteOld?: boolean;
    leakedKeyId?: string;
    /**
     * The user and its keyrot state as the caller has just read them (the leak response reads both to
     * tell an already-handled key): not read a second time. The rotation re-reads what it acts on.
     */
    known?: { user: IamUser; managed: ManagedUser | undefined };
  } = {},
): Promise<EmergencyResult> {
  const user = options.known?.user ?? (await getIamUser(deps.clients.iam, userName));
  requireMachineUser(config, user);
  const managed = options.known ? options.known.managed : await readManagedUser(deps, config, userName, user);
  const keys = managed?.keys ?? (await listAccessKeys(deps.clients.iam, userName));
  const leaked = options.leakedKeyId;
  if (leaked !== undefined && !keys.some((k) => k.accessKeyId === leaked)) {
    throw new UsageError(
      `--key ${leaked} is not a key of ${userName} (its keys: ${keys.map((k) => k.accessKeyId).join(', ') || 'none'}).`,
    );
  }
  const secretId = managed?.snapshot.arn ?? secretNameFor(config, userName);
  const guard = (accessKeyId: string, change: 'deactivate' | 'delete') =>
    changeKey(deps, deps.settings, {
      userName,
      secretId,
      accessKeyId,
      change,
      purpose: 'emergency',
      now: deps.clock.now(),
    });

  const clearedForRoom: string[] = [];
  const resuming = managed !== undefined && unfinishedToken(managed.snapshot) !== undefined;
  if (keys.length >= 2 && !resuming) {
    const victim = roomVictim(keys, keyIdOf(managed?.stages.current), leaked, userName);
    await guard(victim, 'deactivate');
    // Stryker disable next-line StringLiteral: the guard deletes on any change but 'deactivate', and this deletion can't be refused (the victim is not AWSCURRENT's key, nor AWSPENDING's with no rotation to resume, and is inactive now), so only a refusal's wording could tell
    await guard(victim, 'delete');
    clearedForRoom.push(victim);
  }

  const rotation = await rotateUser(deps, config, userName);
  const after = await readManagedUser(deps, config, userName, user);
  if (after === undefined || keyIdOf(after.stages.current) !== rotation.accessKeyId) {
    throw new KeyrotError(
      `AWSCURRENT of ${rotation.secretName} moved away from the new key ${rotation.accessKeyId} during the emergency rotation; no old key was deactivated. Check keyrot status --user ${userName}.`,
    );
  }
  // The new key, and AWSPENDING's: either the same key (a driven rotation leaves AWSPENDING on the
  // version it made current) or that of a rotation that started right after this one's cut-over.
  const held = new Set([rotation.accessKeyId, keyIdOf(after.stages.pending)]);
  const deactivated: string[] = [];
  const deleted: string[] = [];
  for (const { accessKeyId: id } of after.keys) {
    if (held.has(id)) continue;
    if ((await guard(id, 'deactivate')).changed) deactivated.push(id);
    // Stryker disable next-line StringLiteral: the guard deletes on any change but 'deactivate', and this deletion can't be refused (the key is held by no stage, and inactive now), so only a refusal's wording could tell
    if (options.deleteOld && (await guard(id, 'delete')).changed) deleted.push(id);
  }
  const records = readTargetRecords(after.snapshot.tags);
  const targetsUpdated = deps.targetsFor(userName).flatMap((t) => {
    // Read as either kind of record: a disabled target's names no key, so only a target that
    // received the new key matches (no separate test of the state is needed).
    const record: { state: string; accessKeyId?: string } | undefined = records.get(t.name);
    return record?.accessKeyId === rotation.accessKeyId ? [t.name] : [];
  });
  return { ...rotation, clearedForRoom, deactivated, deleted, targetsUpdated };
}

/** The key to clear when an emergency finds no free slot. */
function roomVictim(
  keys: readonly ListedKey[],
  currentKeyId: string | undefined,
  leaked: string | undefined,
  userName: string,
): string {
  const others = keys.filter((k) => k.accessKeyId !== currentKeyId);
  // An inactive key serves nobody: it goes first. Then the only key that is not current, or the leaked one.
  const victim = others.find((k) => k.status === 'Inactive') ?? (others.length === 1 ? others[0] : undefined);
  if (victim !== undefined) return victim.accessKeyId;
  if (leaked !== undefined) return leaked;
  throw new UsageError(
    `${userName} holds two keys (${keys.map((k) => k.accessKeyId).join(', ')}) and keyrot can't tell which one leaked, so it can't choose which to delete for the new key. Name it: keyrot rotate --user ${userName} --compromised --key ACCESS_KEY_ID. Nothing was changed.`,
  );
}
