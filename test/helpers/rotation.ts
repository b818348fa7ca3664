import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from '../../lib/aws/clients.js';
import { parseSecretValue, type SecretValue } from '../../lib/secret/value.js';
import { signWith } from '../../lib/testbed/seed.js';

export async function keyIds(
  clients: AwsClients,
  userName: string,
): Promise<Array<{ id: string; status: string }>> {
  const { AccessKeyMetadata = [] } = await clients.iam.send(
    new ListAccessKeysCommand({ UserName: userName }),
  );
  return AccessKeyMetadata.map((k) => ({ id: k.AccessKeyId ?? '', status: k.Status ?? '' }));
}

export async function stageValue(
  clients: AwsClients,
  secretId: string,
  stage: string,
): Promise<SecretValue | undefined> {
  try {
    const { SecretString } = await clients.secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
    );
    return parseSecretValue(SecretString);
  } catch {
    return undefined;
  }
}

export async function secretNames(clients: AwsClients): Promise<string[]> {
  const { SecretList = [] } = await clients.secrets.send(new ListSecretsCommand({}));
  return SecretList.map((s) => s.Name ?? '').sort();
}

/**
 * The invariants every rotation must leave, whatever happened: the user holds at most 2 keys, AWSCURRENT
 * holds one of them and it authenticates as the user, and every key is either AWSCURRENT's, or was
 * there before keyrot (allowed), or AWSPREVIOUS's: nothing orphaned.
 */
export async function expectConverged(
  clients: AwsClients,
  endpoint: string,
  userName: string,
  userArn: string,
  allowed: readonly string[],
): Promise<SecretValue> {
  const keys = await keyIds(clients, userName);
  const current = await stageValue(clients, `keyrot/${userName}`, 'AWSCURRENT');
  const previous = await stageValue(clients, `keyrot/${userName}`, 'AWSPREVIOUS');
  if (current === undefined) throw new Error(`${userName}: no AWSCURRENT credential`);
  if (keys.length > 2) throw new Error(`${userName}: ${keys.length} keys`);
  const legitimate = new Set([current.AccessKeyId, ...(previous ? [previous.AccessKeyId] : []), ...allowed]);
  const orphans = keys.filter((k) => !legitimate.has(k.id));
  if (orphans.length > 0) throw new Error(`${userName}: orphan keys ${orphans.map((k) => k.id).join(', ')}`);
  if (!keys.some((k) => k.id === current.AccessKeyId && k.status === 'Active'))
    throw new Error(`${userName}: current key is not an active key`);
  const arn = await signWith(endpoint, current.AccessKeyId, current.SecretAccessKey);
  if (arn !== userArn) throw new Error(`${userName}: current key authenticates as ${arn}`);
  return current;
}
