import { type IAMClient, ListUserTagsCommand } from '@aws-sdk/client-iam';

/**
 * Each user's owner (the value of the owner tag), read with iam:ListUserTags. A user whose tags can't
 * be read gets no owner: its alert still goes out, to the subscriptions that take every alert.
 */
export async function userOwners(
  iam: IAMClient,
  userNames: Iterable<string>,
  ownerTag: string,
): Promise<Map<string, string | undefined>> {
  const owners = new Map<string, string | undefined>();
  for (const userName of new Set(userNames)) {
    try {
      const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
      owners.set(userName, Tags.find((t) => t.Key === ownerTag)?.Value);
    } catch {
      owners.set(userName, undefined);
    }
  }
  return owners;
}
