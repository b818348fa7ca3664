import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { TagResourceCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { KeyrotError, NotManagedError } from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import { forgetKey } from '../retirement/retire.js';
import { secretNameFor } from './driver.js';
import { describeSecret, STAGE, TAG, unfinishedToken, versionWith } from './secret-state.js';
import { readCredential } from './secret-value.js';
import { type RotationDeps, setSecret } from './steps.js';

export interface RollbackResult {
  userName: string;
  secretName: string;
  /** The key that is AWSCURRENT again. */
  restoredKeyId: string;
  reactivated: boolean;
  /** The newer key, now AWSPREVIOUS: retirement deactivates and deletes it as usual. */
  replacedKeyId?: string;
  /** True when this run only completed a rollback that an earlier run had begun. */
  completed: boolean;
}

/**
 * For when a new key breaks a consumer, while the previous key still exists: reactivate the previous
 * key, make its version AWSCURRENT again (the newer one becomes AWSPREVIOUS, so retirement takes it
 * from here), push it to the targets again, and record the cut-over. No version is deleted.
 */
export async function rollbackUser(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<RollbackResult> {
  const { secrets, iam } = deps.clients;
  const snapshot = await describeSecret(secrets, secretNameFor(config, userName));
  if (snapshot.userName !== userName)
    throw new NotManagedError(`Secret ${snapshot.name} is not keyrot's secret for ${userName}.`);
  if (unfinishedToken(snapshot) !== undefined) {
    throw new KeyrotError(
      `A rotation of ${userName} is unfinished; finish it (keyrot rotate --user ${userName}) before rolling back, or abandon it (keyrot rollback --user ${userName} --abandon).`,
    );
  }
  const current = versionWith(snapshot, STAGE.current);
  const previous = versionWith(snapshot, STAGE.previous);
  const read = (versionId: string | undefined) => readCredential(secrets, snapshot.arn, versionId);

  // A rollback that moved AWSCURRENT but crashed before recording the cut-over: finish it, don't flip back.
  if (
    current !== undefined &&
    snapshot.cutover !== undefined &&
    snapshot.cutover.versionId !== current &&
    snapshot.cutover.versionId === previous
  ) {
    const restored = await read(current);
    // The crash may have come before or during the push: push again (idempotent), then record.
    if (restored)
      await setSecret(deps, { secretId: snapshot.arn, token: current, pending: restored, userName });
    await recordCutover(deps, snapshot.arn, current);
    return {
      userName,
      secretName: snapshot.name,
      restoredKeyId: restored?.AccessKeyId ?? '',
      reactivated: false,
      completed: true,
    };
  }
  if (current === undefined || previous === undefined) {
    throw new KeyrotError(`${snapshot.name} has no previous version to roll back to.`);
  }
  const [restore, replaced] = [await read(previous), await read(current)];
  if (restore === undefined)
    throw new KeyrotError(`The previous version of ${snapshot.name} holds no keyrot credential.`);
  const key = (await listAccessKeys(iam, userName)).find((k) => k.accessKeyId === restore.AccessKeyId);
  if (key === undefined) {
    throw new KeyrotError(
      `Can't roll back ${userName}: the previous key ${restore.AccessKeyId} no longer exists (retirement deleted it). Rotate instead: keyrot rotate --user ${userName}.`,
    );
  }
  const reactivated = key.status === 'Inactive';
  if (reactivated) {
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: restore.AccessKeyId, Status: 'Active' }),
    );
    await forgetKey(deps, snapshot, restore.AccessKeyId);
  }
  // A driven rotation leaves AWSPENDING on the version it made current. Detach it before demoting that
  // version, or it would look like an unfinished rotation. (Harmless if the run stops right here.)
  if (snapshot.versions.get(current)?.includes(STAGE.pending)) {
    await secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: snapshot.arn,
        VersionStage: STAGE.pending,
        RemoveFromVersionId: current,
      }),
    );
  }
  await secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: snapshot.arn,
      VersionStage: STAGE.current,
      MoveToVersionId: previous,
      RemoveFromVersionId: current,
    }),
  );
  await setSecret(deps, { secretId: snapshot.arn, token: previous, pending: restore, userName });
  await recordCutover(deps, snapshot.arn, previous);
  return {
    userName,
    secretName: snapshot.name,
    restoredKeyId: restore.AccessKeyId,
    reactivated,
    ...(replaced ? { replacedKeyId: replaced.AccessKeyId } : {}),
    completed: false,
  };
}

async function recordCutover(deps: RotationDeps, secretArn: string, versionId: string): Promise<void> {
  await deps.clients.secrets.send(
    new TagResourceCommand({
      SecretId: secretArn,
      Tags: [{ Key: TAG.cutover, Value: `${versionId} ${deps.clock.now().toISOString()}` }],
    }),
  );
}
