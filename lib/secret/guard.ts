import { DeleteAccessKeyCommand, type IAMClient, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  paginateListSecretVersionIds,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import { type Clock, wholeDaysBetween } from '../clock.js';
import { BrokenUserError, KeyGuardError } from '../errors.js';
import { listAccessKeys, withLastUse } from '../inventory/per-user.js';
import type { AccessKeyRecord } from '../inventory/types.js';
import { describeSecret, LIFECYCLE_TAG, type SecretSnapshot } from './secret.js';
import { assessHealth, keyIdOf, readStages } from './state.js';
import { readVersion } from './value.js';

export interface GuardDeps {
  clients: { iam: IAMClient; secrets: SecretsManagerClient };
  /** Stamps lifecycle records. */
  clock: Clock;
}

export interface GuardPolicy {
  idleDaysBeforeDeactivate: number;
  deleteAfterDays: number;
}

/**
 * Why a key is being changed; each purpose has its own extra rule.
 * - retire: the daily retirement of a replaced key;
 * - make-room: deleting an inactive key so a rotation has a free slot;
 * - orphan: deleting a key that a rotation attempt created and never stored;
 * - emergency: a compromised-key rotation (the only purpose that may remove a key in use).
 */
export type ChangePurpose = 'retire' | 'make-room' | 'orphan' | 'emergency';

export interface KeyChangeRequest {
  userName: string;
  secretId: string;
  accessKeyId: string;
  change: 'deactivate' | 'delete';
  purpose: ChangePurpose;
  /** The decision time (simulated with --now); in-use and reserve windows are measured to it. */
  now: Date;
  /** For an orphan: the attempt that made the key is this process's own (it knows it never stored it). */
  ownAttempt?: boolean;
}

export interface KeyChangeOutcome {
  /** False when there was nothing to do (the key is gone, or already inactive). */
  changed: boolean;
  key?: AccessKeyRecord;
}

const NO_SUCH = new Set(['NoSuchEntity', 'NoSuchEntityException']);

/**
 * THE key guard: every deactivation and deletion of an access key goes through here. It re-reads IAM
 * and the secret for each change and refuses (KeyGuardError, or BrokenUserError when the user has no
 * working key at all) unless all of these hold:
 * 1. the key is not the one AWSCURRENT or AWSPENDING holds;
 * 2. a working key remains: AWSCURRENT's key exists in IAM and is Active (a user whose secret has no
 *    version yet has no current key; then another Active key must remain);
 * 3. at least one Active key remains after the change (an orphan, unused and unheld, is exempt);
 * 4. a key used within idleDaysBeforeDeactivate is kept, except in an emergency;
 * 5. make-room: only an inactive key, and not a rollback reserve (deactivated by keyrot less than
 *    deleteAfterDays ago);
 * 6. orphan: created by a recorded attempt (not among the keys the intent knew), held by no version
 *    of the secret, and never used.
 */
export async function changeKey(
  deps: GuardDeps,
  policy: GuardPolicy,
  request: KeyChangeRequest,
): Promise<KeyChangeOutcome> {
  const { iam, secrets } = deps.clients;
  const { userName, accessKeyId: id } = request;
  const keys = await listAccessKeys(iam, userName);
  const target = keys.find((k) => k.accessKeyId === id);
  if (target === undefined) return { changed: false };
  if (request.change === 'deactivate' && target.status === 'Inactive') return { changed: false, key: target };

  // A user keyrot has not onboarded has no secret: no stage holds any of its keys.
  const snapshot = await describeIfExists(secrets, request.secretId);
  const stages = snapshot ? await readStages(secrets, snapshot) : {};
  const refuse = (why: string) =>
    new KeyGuardError(`keyrot will not ${request.change} ${id} of ${userName}: ${why}. Nothing was changed.`);

  const currentKeyId = keyIdOf(stages.current);
  const pendingKeyId = keyIdOf(stages.pending);
  if (id === currentKeyId) throw refuse('it is the key AWSCURRENT holds');
  if (id === pendingKeyId) throw refuse('it is the key AWSPENDING holds (a rotation is under way)');

  // In an emergency the leaked key must go even where the secret is broken; the other rules still hold.
  // A key this very attempt made and never stored can't be anybody's working key: it goes either way.
  const broken = snapshot ? assessHealth(userName, snapshot, stages, keys) : undefined;
  if (broken && request.purpose !== 'emergency' && !request.ownAttempt) {
    throw new BrokenUserError(
      `${userName} is broken: ${broken.detail}. keyrot touches none of its keys until it has a working current key. Fix: ${broken.fix}`,
      broken,
    );
  }
  const othersActive = keys.filter((k) => k.accessKeyId !== id && k.status === 'Active');
  // (An orphan is exempt: it must be never used and held by no version, so it is nobody's working key.)
  if (target.status === 'Active' && othersActive.length === 0 && request.purpose !== 'orphan')
    throw refuse('it is the only active key the user has left');

  const used = await withLastUse(iam, target);
  const idle = used.lastUsedAt === undefined ? undefined : wholeDaysBetween(used.lastUsedAt, request.now);
  if (request.purpose !== 'emergency' && idle !== undefined && idle < policy.idleDaysBeforeDeactivate) {
    throw refuse(
      `it was used ${idle === 0 ? 'today' : `${idle} days ago`} (${used.lastUsedAt?.toISOString()}), within idleDaysBeforeDeactivate ${policy.idleDaysBeforeDeactivate}; a key in use is only taken away in an emergency (keyrot rotate --user ${userName} --compromised)`,
    );
  }
  if (request.purpose === 'make-room') {
    if (target.status !== 'Inactive') throw refuse('only an inactive key is deleted to make room');
    const deactivatedAt = snapshot?.tags[LIFECYCLE_TAG.deactivated(id)];
    const since = deactivatedAt ? new Date(deactivatedAt) : undefined;
    if (since && !Number.isNaN(since.getTime())) {
      const days = wholeDaysBetween(since, request.now);
      if (days < policy.deleteAfterDays) {
        throw refuse(
          `keyrot deactivated it ${days === 0 ? 'today' : `${days} days ago`}, and it is kept as the rollback reserve for deleteAfterDays ${policy.deleteAfterDays} (keyrot rollback --user ${userName} can still bring it back). Wait, or in an emergency: keyrot rotate --user ${userName} --compromised`,
        );
      }
    }
  }
  if (request.purpose === 'orphan') {
    if (snapshot === undefined)
      throw refuse('the user has no keyrot secret, so no attempt of keyrot made it');
    if (!request.ownAttempt && snapshot.intent?.knownKeyIds.includes(id))
      throw refuse('it existed before the last rotation attempt, so it is not that attempt’s key');
    if (used.lastUsedAt !== undefined) throw refuse('it has been used, so someone holds it');
    if (await heldByAnyVersion(secrets, snapshot, id))
      throw refuse('a version of the secret holds it, so someone may have read it');
  }

  if (request.change === 'deactivate') {
    // Record first: a crash between the two only makes deletion wait for the next run.
    if (snapshot) {
      await secrets.send(
        new TagResourceCommand({
          SecretId: snapshot.arn,
          Tags: [{ Key: LIFECYCLE_TAG.deactivated(id), Value: deps.clock.now().toISOString() }],
        }),
      );
    }
    await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: id, Status: 'Inactive' }));
  } else {
    try {
      await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: id }));
    } catch (error) {
      if (!NO_SUCH.has(errorName(error) ?? '')) throw error;
    }
    if (snapshot) await forgetKey(secrets, snapshot.arn, id);
  }
  return { changed: true, key: used };
}

async function describeIfExists(
  secrets: SecretsManagerClient,
  secretId: string,
): Promise<SecretSnapshot | undefined> {
  try {
    return await describeSecret(secrets, secretId);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Drops a key's lifecycle records (after deletion, or when the key is gone). */
export async function forgetKey(
  secrets: SecretsManagerClient,
  secretArn: string,
  keyId: string,
): Promise<void> {
  await secrets.send(
    new UntagResourceCommand({
      SecretId: secretArn,
      TagKeys: [LIFECYCLE_TAG.deactivated(keyId), LIFECYCLE_TAG.inactiveSeen(keyId)],
    }),
  );
}

/**
 * Makes a key Active again (a rollback restoring the previous key). Only a key the secret's AWSPREVIOUS
 * holds is ever reactivated, and only by rollback.
 */
export async function reactivateKey(
  deps: GuardDeps,
  userName: string,
  secretArn: string,
  accessKeyId: string,
): Promise<void> {
  await deps.clients.iam.send(
    new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }),
  );
  await forgetKey(deps.clients.secrets, secretArn, accessKeyId);
}

/** Whether any version of the secret, staged or not, stores this key id. */
async function heldByAnyVersion(
  secrets: SecretsManagerClient,
  snapshot: SecretSnapshot,
  keyId: string,
): Promise<boolean> {
  for await (const page of paginateListSecretVersionIds(
    { client: secrets, pageSize: 100 },
    { SecretId: snapshot.arn, IncludeDeprecated: true },
  )) {
    for (const version of page.Versions ?? []) {
      if (!version.VersionId) continue;
      const read = await readVersion(secrets, snapshot.arn, version.VersionId);
      if (keyIdOf(read) === keyId) return true;
    }
  }
  return false;
}
