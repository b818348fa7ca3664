import { type IAMClient, ListAccountAliasesCommand } from '@aws-sdk/client-iam';

/** How an account is named to people: its IAM alias, else its Organizations name, else its id. */
export interface AccountLabel {
  accountId: string;
  /** The Organizations account name ('' when unknown). */
  accountName: string;
  alias: string;
}

/** "team-a (111122223333)", or the bare id when the account has no other name. */
export function accountLabel(account: AccountLabel): string {
  return account.alias && account.alias !== account.accountId
    ? `${account.alias} (${account.accountId})`
    : account.accountId;
}

/**
 * The account's alias (iam:ListAccountAliases, one call; an account has at most one), falling back
 * to its Organizations name, then its id. A failed lookup falls back too: a name is not worth a failed run.
 */
export async function accountAlias(iam: IAMClient, account: { id: string; name: string }): Promise<string> {
  try {
    const { AccountAliases = [] } = await iam.send(new ListAccountAliasesCommand({}));
    const [alias] = AccountAliases;
    if (alias) return alias;
  } catch {
    // fall back to the organization's name for it
  }
  return account.name || account.id;
}
