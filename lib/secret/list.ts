import { paginateListSecrets, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { toSnapshot } from './secret.js';

/** What the scan needs to know of a managed user without reading its secret: when it was last cut over. */
export interface ManagedSummary {
  secretName: string;
  cutoverAt?: Date;
  /** The secret's tags (retirement selects users by its per-key records among them). */
  tags: Record<string, string>;
}

/**
 * Every keyrot secret under the prefix, by the user its tag names, from ListSecrets (paginated; it
 * returns tags, so no per-secret call). ListSecrets has no resource-level permissions: its IAM
 * statement is necessarily `*`, and it reveals names and tags, never values.
 */
export async function listManagedSecrets(
  secrets: SecretsManagerClient,
  config: Pick<Config, 'secretPrefix'>,
): Promise<Record<string, ManagedSummary>> {
  const out: Record<string, ManagedSummary> = {};
  for await (const page of paginateListSecrets(
    { client: secrets, pageSize: 100 },
    {
      Filters: [
        { Key: 'name', Values: [config.secretPrefix] },
        { Key: 'tag-key', Values: ['keyrot:user'] },
      ],
    },
  )) {
    // Stryker disable next-line ArrayDeclaration: a stand-in element has no name and no keyrot:user tag, so it is skipped
    for (const entry of page.SecretList ?? []) {
      // ListSecrets' name filter matches prefixes of words too (keyrot-other/ for keyrot/): keep exactly
      // <prefix><user> for the user the secret's tag names.
      const snapshot = toSnapshot({ ARN: entry.ARN, Name: entry.Name, Tags: entry.Tags, $metadata: {} });
      if (snapshot.userName === undefined || `${config.secretPrefix}${snapshot.userName}` !== entry.Name)
        continue;
      out[snapshot.userName] = {
        secretName: entry.Name,
        tags: snapshot.tags,
        ...(snapshot.cutover ? { cutoverAt: snapshot.cutover.at } : {}),
      };
    }
  }
  return out;
}
