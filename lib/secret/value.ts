import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { errorName } from '../aws/errors.js';
import { KeyrotError } from '../errors.js';

/**
 * The secret's value: a valid `credential_process` document (Version, AccessKeyId, SecretAccessKey)
 * plus non-secret fields, so consumers that can read Secrets Manager use it directly.
 */
const secretValueSchema = z.object({
  Version: z.literal(1),
  AccessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
  SecretAccessKey: z.string().check(z.minLength(1)),
  UserName: z.string().check(z.minLength(1)),
  CreatedAt: z.string(),
});

export type SecretValue = z.infer<typeof secretValueSchema>;

export function formatSecretValue(value: SecretValue): string {
  return JSON.stringify(value);
}

/** Parses a stored value; `undefined` when it is not a keyrot credential (never echoes the text). */
export function parseSecretValue(text: string | undefined): SecretValue | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = z.safeParse(secretValueSchema, JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The keyrot credential stored in one version of a secret; undefined when there is no such version or
 * it has no value yet (a Secrets Manager stub). A value that is not a keyrot credential is an error:
 * nothing is decided on a secret keyrot does not understand.
 */
export async function readCredential(
  secrets: SecretsManagerClient,
  secretId: string,
  versionId: string | undefined,
): Promise<SecretValue | undefined> {
  if (versionId === undefined) return undefined;
  try {
    const { SecretString } = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
    );
    const value = parseSecretValue(SecretString);
    if (value === undefined)
      throw new KeyrotError(`Version ${versionId} of ${secretId} does not hold a keyrot credential.`);
    return value;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** One version as read, whatever it holds: keyrot's credential, nothing yet (a stub), or something else. */
export type VersionRead =
  | { versionId: string; kind: 'credential'; value: SecretValue }
  | { versionId: string; kind: 'empty' }
  | { versionId: string; kind: 'foreign' };

/**
 * Reads one version without judging it: for reports and the key guard, which must see a garbage or
 * missing value as a state to name, not as an error that hides every other user.
 */
export async function readVersion(
  secrets: SecretsManagerClient,
  secretId: string,
  versionId: string,
): Promise<VersionRead> {
  try {
    const { SecretString } = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
    );
    const value = parseSecretValue(SecretString);
    return value ? { versionId, kind: 'credential', value } : { versionId, kind: 'foreign' };
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return { versionId, kind: 'empty' };
    throw error;
  }
}
