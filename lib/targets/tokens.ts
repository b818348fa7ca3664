import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import { ConfigError, KeyrotError } from '../errors.js';

/**
 * Reads targets' tokens from Secrets Manager: only secrets under `prefix`, AWSCURRENT, each once per
 * reader (one reader per invocation). Errors name the secret, never its value.
 */
export function tokenReader(
  secrets: Pick<SecretsManagerClient, 'send'>,
  prefix: string,
): (secretId: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (secretId) => {
    if (!secretId.startsWith(prefix)) {
      return Promise.reject(
        new ConfigError(
          `Token secret ${secretId} is outside targetSecretPrefix "${prefix}"; keyrot reads tokens only from secrets under that prefix.`,
        ),
      );
    }
    let token = cache.get(secretId);
    if (token === undefined) {
      token = read(secrets, secretId);
      cache.set(secretId, token);
      // A failed read is not cached: the next push may find the secret fixed.
      token.catch(() => cache.delete(secretId));
    }
    return token;
  };
}

async function read(secrets: Pick<SecretsManagerClient, 'send'>, secretId: string): Promise<string> {
  let value: string | undefined;
  try {
    ({ SecretString: value } = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    ));
  } catch (error) {
    const name = errorName(error) ?? 'Error';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const fix =
      name === 'ResourceNotFoundException'
        ? 'create it with the token as its value'
        : name === 'AccessDeniedException' || status === 403
          ? 'the rotate role may read only secrets under targetSecretPrefix'
          : 'check it';
    // The SDK error carries the signed request; the cause keeps only its name and status.
    throw new KeyrotError(
      `Cannot read token secret ${secretId} (${name}${status ? `, HTTP ${status}` : ''}): ${fix}.`,
      {
        cause: new Error(`${name}${status ? ` (HTTP ${status})` : ''}`),
      },
    );
  }
  const token = value?.trim();
  if (!token)
    throw new KeyrotError(`Token secret ${secretId} has no string value: store the token as its value.`);
  return token;
}
