import { createHash } from 'node:crypto';
import {
  type CreateSecretCommandInput,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';

/** Tags keyrot keeps on a machine user's secret. Versions are immutable, so lifecycle facts live here. */
export const TAG = {
  /** Marks the secret as keyrot's; its value is the IAM user name. */
  user: 'keyrot:user',
  /** The user's ARN, which a new key's sts:GetCallerIdentity must return. */
  userArn: 'keyrot:user-arn',
  /** Written before a key is created: `<token> <epoch seconds> <ids of the keys that existed>`. */
  intent: 'keyrot:intent',
  /** Written when a rotation finishes: `<version id> <ISO time>`. */
  cutover: 'keyrot:cutover',
  /** Written when an unfinished rotation is abandoned or restarted: `<version id> <ISO time>`. */
  cancelled: 'keyrot:cancelled',
} as const;

/** Per-key lifecycle tags (IAM records neither time): when keyrot deactivated a key, or first saw it inactive. */
export const LIFECYCLE_TAG = {
  deactivated: (keyId: string) => `keyrot:deactivated:${keyId}`,
  inactiveSeen: (keyId: string) => `keyrot:inactive-seen:${keyId}`,
};

/** The dates recorded under tags `<prefix><key id>`, by key id. */
export function datesFromTags(tags: Record<string, string>, prefix: string): Record<string, Date> {
  const out: Record<string, Date> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(prefix)) continue;
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) out[key.slice(prefix.length)] = date;
  }
  return out;
}

export function secretNameFor(config: Pick<Config, 'secretPrefix'>, userName: string): string {
  return `${config.secretPrefix}${userName}`;
}

/** What onboarding creates: the user's secret, tagged as keyrot's, encrypted with the configured key. */
export function createSecretInput(
  config: Pick<Config, 'secretPrefix' | 'secretKmsKeyId'>,
  userName: string,
  userArn: string,
): CreateSecretCommandInput {
  return {
    Name: secretNameFor(config, userName),
    Description: `Access key of the IAM machine user ${userName}, rotated by keyrot`,
    Tags: [
      { Key: TAG.user, Value: userName },
      { Key: TAG.userArn, Value: userArn },
    ],
    ...(config.secretKmsKeyId ? { KmsKeyId: config.secretKmsKeyId } : {}),
  };
}

export const STAGE = { current: 'AWSCURRENT', pending: 'AWSPENDING', previous: 'AWSPREVIOUS' } as const;

export interface Intent {
  token: string;
  at: Date;
  knownKeyIds: string[];
}

/** What DescribeSecret says about a secret, in the shape the rotation steps reason about. */
export interface SecretSnapshot {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  /** Version id -> staging labels. */
  versions: Map<string, string[]>;
  tags: Record<string, string>;
  userName?: string;
  userArn?: string;
  intent?: Intent;
  cutover?: { versionId: string; at: Date };
}

export async function describeSecret(
  secrets: SecretsManagerClient,
  secretId: string,
): Promise<SecretSnapshot> {
  return toSnapshot(await secrets.send(new DescribeSecretCommand({ SecretId: secretId })));
}

export function toSnapshot(output: DescribeSecretCommandOutput): SecretSnapshot {
  const tags = Object.fromEntries((output.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const intent = parseIntent(tags[TAG.intent]);
  const cutover = parseCutover(tags[TAG.cutover]);
  return {
    arn: output.ARN ?? '',
    name: output.Name ?? '',
    rotationEnabled: output.RotationEnabled === true,
    versions: new Map(Object.entries(output.VersionIdsToStages ?? {})),
    tags,
    ...(tags[TAG.user] ? { userName: tags[TAG.user] } : {}),
    ...(tags[TAG.userArn] ? { userArn: tags[TAG.userArn] } : {}),
    ...(intent ? { intent } : {}),
    ...(cutover ? { cutover } : {}),
  };
}

export function versionWith(snapshot: SecretSnapshot, stage: string): string | undefined {
  for (const [id, stages] of snapshot.versions) if (stages.includes(stage)) return id;
  return undefined;
}

/**
 * The token of a rotation that was started and not finished, whoever started it: a pending version
 * that is not current, or one that became current (the first version of a secret always does) but
 * whose cut-over was never recorded.
 */
export function unfinishedToken(snapshot: SecretSnapshot): string | undefined {
  const pending = versionWith(snapshot, STAGE.pending);
  if (pending === undefined) return undefined;
  if (pending !== versionWith(snapshot, STAGE.current)) return pending;
  return snapshot.cutover?.versionId === pending ? undefined : pending;
}

/**
 * The token a locally driven rotation uses: derived from the secret and where it stands, so drivers
 * racing on one user pick the same token and only one can store a key under it. A cancelled rotation
 * (abandoned or restarted) counts as a move: its version keeps its value, which no later write under
 * its token may change, and DescribeSecret no longer lists it once it has no label.
 */
export function derivedToken(snapshot: SecretSnapshot): string {
  const current = versionWith(snapshot, STAGE.current) ?? '-';
  const cancelled = snapshot.tags[TAG.cancelled];
  const hex = createHash('sha256')
    .update(
      `${snapshot.arn}|${current}|${snapshot.tags[TAG.cutover] ?? '-'}${cancelled === undefined ? '' : `|${cancelled}`}`,
    )
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Cancels an unfinished rotation: records that it was cancelled, then takes AWSPENDING off its
 * version. It deletes nothing. Without the record, the next locally driven rotation would derive the
 * cancelled rotation's token again, and find its stored value (or be refused a new value under it).
 * The record comes first: a crash between the two calls leaves the rotation unfinished, and running
 * again converges.
 */
export async function cancelPending(
  secrets: SecretsManagerClient,
  secretArn: string,
  versionId: string,
  now: Date,
): Promise<void> {
  await secrets.send(
    new TagResourceCommand({
      SecretId: secretArn,
      Tags: [{ Key: TAG.cancelled, Value: `${versionId} ${now.toISOString()}` }],
    }),
  );
  await secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretArn,
      VersionStage: STAGE.pending,
      RemoveFromVersionId: versionId,
    }),
  );
}

/**
 * Key ids are joined with "+": tag values refuse "," (Secrets Manager User Guide, "Tag
 * restrictions": letters, numbers, spaces and + - = . _ : / @), which moto accepts.
 */
export function formatIntent(intent: Intent): string {
  return `${intent.token} ${Math.floor(intent.at.getTime() / 1000)} ${intent.knownKeyIds.join('+') || '-'}`;
}

function parseIntent(value: string | undefined): Intent | undefined {
  const [token, seconds, ids] = (value ?? '').split(' ');
  if (!token || !seconds || ids === undefined || !/^\d+$/.test(seconds)) return undefined;
  // "," as written before keyrot knew tags refuse it (only ever on an emulator).
  return { token, at: new Date(Number(seconds) * 1000), knownKeyIds: ids === '-' ? [] : ids.split(/[+,]/) };
}

function parseCutover(value: string | undefined): SecretSnapshot['cutover'] {
  const [versionId, iso] = (value ?? '').split(' ');
  const at = iso ? new Date(iso) : undefined;
  return versionId && at && !Number.isNaN(at.getTime()) ? { versionId, at } : undefined;
}
