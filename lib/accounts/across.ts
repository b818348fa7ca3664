import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { STSClient } from '@aws-sdk/client-sts';
import { type AwsClients, type ClientOptions, createClients } from '../aws/clients.js';
import { classifyAwsError } from '../aws/errors.js';
import type { Clock } from '../clock.js';
import { mapLimit } from '../concurrency.js';
import type { Config } from '../config.js';
import { ConfigError, KeyrotError } from '../errors.js';
import { assumedRoleCredentials, type MemberRole } from './assume.js';
import { type AccountLabel, accountAlias } from './label.js';
import { accountsToWorkIn } from './organization.js';

export { type AccountLabel, accountAlias, accountLabel } from './label.js';

/** The member role from the config; organization mode can't run without its ExternalId. */
export function memberRoleOf(config: Pick<Config, 'accounts'>): MemberRole {
  const { memberRole, externalId } = config.accounts;
  if (externalId === undefined) {
    throw new ConfigError(
      `accounts.externalId is not set: organization mode assumes ${memberRole.path}${memberRole.name} in each account with the ExternalId its trust policy requires. Set accounts.externalId in the config to the ExternalId the member stack was deployed with.`,
    );
  }
  return { ...memberRole, externalId };
}

export interface AcrossDeps {
  /** The hub's Organizations client (lists the accounts). */
  org: OrganizationsClient;
  /** The hub's STS client (assumes the member role). */
  sts: STSClient;
  clock: Clock;
  /** Client settings for the member accounts' clients (region, retries, call counting). */
  clientOptions?: ClientOptions;
  /** Names the session in the member accounts' CloudTrail. */
  sessionName?: string;
}

/** One account, read as its member role. */
export interface MemberAccount extends AccountLabel {
  clients: AwsClients;
}

/** What one account gave: its value, or why it could not be read and what to do about it. */
export type AccountResult<T> =
  | (AccountLabel & { ok: true; value: T })
  | (AccountLabel & { ok: false; error: KeyrotError | Error });

/**
 * Runs `work` in every selected account of the organization (accounts.include / exclude), as the
 * member role, at most `accounts.concurrency` accounts at once, in account id order. An account that
 * can't be read (its role can't be assumed, or `work` fails) is returned as a failure naming it and
 * what to do; the other accounts are not held up by it.
 */
export async function acrossAccounts<T>(
  deps: AcrossDeps,
  config: Pick<Config, 'accounts'>,
  work: (account: MemberAccount) => Promise<T>,
): Promise<AccountResult<T>[]> {
  const role = memberRoleOf(config);
  const accounts = await accountsToWorkIn(deps.org, config.accounts);
  return mapLimit(accounts, config.accounts.concurrency, async (account): Promise<AccountResult<T>> => {
    const label: AccountLabel = {
      accountId: account.id,
      accountName: account.name,
      alias: account.name || account.id,
    };
    try {
      const credentials = assumedRoleCredentials(deps.sts, deps.clock, {
        accountId: account.id,
        role,
        sessionName: deps.sessionName ?? 'keyrot-cli',
      });
      // Assume first: a role that can't be assumed is this account's failure, said once, not as a
      // failed alias lookup.
      await credentials();
      const clients = createClients({ ...deps.clientOptions, credentials });
      const alias = await accountAlias(clients.iam, account);
      const named = { ...label, alias };
      return { ...named, ok: true, value: await work({ ...named, clients }) };
    } catch (raw) {
      const error = classifyAwsError(raw);
      return { ...label, ok: false, error: error instanceof Error ? error : new KeyrotError(String(error)) };
    }
  });
}

/** The exit code of a failed account: its error's (3 for access), else 1. */
export function exitCodeOf(error: Error): number {
  return error instanceof KeyrotError ? error.exitCode : 1;
}
