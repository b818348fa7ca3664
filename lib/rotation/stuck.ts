import { paginateListSecretVersionIds, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSnapshot } from '../secret/secret.js';
import { unfinishedToken } from '../secret/secret.js';

/** An unfinished rotation: its AWSPENDING version, when that was made, and whether it is stuck. */
export interface Unfinished {
  versionId: string;
  /** When the pending version was created (ListSecretVersionIds CreatedDate). */
  since?: Date;
  stuck: boolean;
}

/**
 * The secret's unfinished rotation, if any, and whether it is stuck: its AWSPENDING version is not
 * current `stuckAfterHours` after it was made. While it stands, Secrets Manager refuses every new
 * RotateSecret with "A previous rotation isn't complete" (Secrets Manager User Guide, "Troubleshoot
 * rotation"), and only retries the failed step itself, so nothing moves without a person. The
 * version's age comes from ListSecretVersionIds (DescribeSecret has none): on AWS, RotateSecret
 * makes the pending version when the rotation starts.
 */
export async function unfinishedRotation(
  secrets: SecretsManagerClient,
  snapshot: SecretSnapshot,
  now: Date,
  stuckAfterHours: number,
): Promise<Unfinished | undefined> {
  const versionId = unfinishedToken(snapshot);
  if (versionId === undefined) return undefined;
  let since: Date | undefined;
  for await (const page of paginateListSecretVersionIds(
    { client: secrets, pageSize: 100 },
    { SecretId: snapshot.arn },
  )) {
    since = page.Versions?.find((v) => v.VersionId === versionId)?.CreatedDate ?? since;
  }
  const stuck = since !== undefined && now.getTime() - since.getTime() >= stuckAfterHours * 3_600_000;
  return { versionId, ...(since ? { since } : {}), stuck };
}
