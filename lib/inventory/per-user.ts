import {
  GetAccessKeyLastUsedCommand,
  GetLoginProfileCommand,
  type IAMClient,
  paginateListAccessKeys,
} from '@aws-sdk/client-iam';
import { errorName } from '../aws/errors.js';
import type { AccessKeyRecord, KeyStatus, ListedKey } from './types.js';

/** A user's keys by id, from ListAccessKeys (paginated), without last-use data. */
export async function listAccessKeys(iam: IAMClient, userName: string): Promise<ListedKey[]> {
  const keys: ListedKey[] = [];
  for await (const page of paginateListAccessKeys({ client: iam, pageSize: 100 }, { UserName: userName })) {
    for (const key of page.AccessKeyMetadata ?? []) {
      keys.push({
        accessKeyId: key.AccessKeyId ?? '',
        status: (key.Status ?? 'Inactive') as KeyStatus,
        createdAt: key.CreateDate ?? new Date(0),
      });
    }
  }
  return keys.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** Adds the last-use date and service of one key (GetAccessKeyLastUsed). */
export async function withLastUse(iam: IAMClient, key: AccessKeyRecord): Promise<AccessKeyRecord> {
  if (key.accessKeyId === undefined) return key;
  const { AccessKeyLastUsed: used } = await iam.send(
    new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId }),
  );
  const service = used?.ServiceName && used.ServiceName !== 'N/A' ? used.ServiceName : undefined;
  return {
    ...key,
    ...(used?.LastUsedDate ? { lastUsedAt: used.LastUsedDate } : {}),
    ...(used?.LastUsedDate && service ? { lastUsedService: service } : {}),
  };
}

/** Whether the user can sign in to the console (has a login profile). */
export async function hasLoginProfile(iam: IAMClient, userName: string): Promise<boolean> {
  try {
    await iam.send(new GetLoginProfileCommand({ UserName: userName }));
    return true;
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity' || errorName(error) === 'NoSuchEntityException') return false;
    throw error;
  }
}

/** Everything the exact strategy reads about one user's credentials. */
export async function readUserCredentials(
  iam: IAMClient,
  userName: string,
): Promise<{ keys: AccessKeyRecord[]; hasConsolePassword: boolean }> {
  const keys = await listAccessKeys(iam, userName);
  const withUse: AccessKeyRecord[] = [];
  for (const key of keys) withUse.push(await withLastUse(iam, key));
  return { keys: withUse, hasConsolePassword: await hasLoginProfile(iam, userName) };
}
