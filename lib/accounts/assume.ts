import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../clock.js';
import { AwsAccessError } from '../errors.js';

/** The member role keyrot assumes in each account: named by path, so the hub may assume nothing else. */
export interface MemberRole {
  /** An IAM path, starting and ending with `/` (for example `/keyrot/`). */
  path: string;
  name: string;
  /** Shared with the member role's trust policy (sts:ExternalId). */
  externalId: string;
}

export function memberRoleArn(accountId: string, role: Pick<MemberRole, 'path' | 'name'>): string {
  return `arn:aws:iam::${accountId}:role${role.path}${role.name}`;
}

/** Credentials are renewed this long before they expire, so no call is signed with an expiring session. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Credentials of the member role in one account, assumed with the ExternalId, cached, and assumed
 * again once they are within REFRESH_BEFORE_MS of expiring (a worker may outlive one session). Calls
 * that arrive while an AssumeRole is in flight share it.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  clock: Pick<Clock, 'now'>,
  input: { accountId: string; role: MemberRole; sessionName: string; durationSeconds?: number },
): AwsCredentialIdentityProvider {
  const roleArn = memberRoleArn(input.accountId, input.role);
  let cached: AwsCredentialIdentity | undefined;
  let inFlight: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (c: AwsCredentialIdentity | undefined): c is AwsCredentialIdentity =>
    c?.expiration !== undefined && c.expiration.getTime() - REFRESH_BEFORE_MS > clock.now().getTime();
  const assume = async (): Promise<AwsCredentialIdentity> => {
    try {
      const { Credentials: c } = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: input.sessionName,
          ExternalId: input.role.externalId,
          DurationSeconds: input.durationSeconds ?? 3600,
        }),
      );
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
        throw new Error('AssumeRole returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
        accountId: input.accountId,
      };
    } catch (error) {
      throw new AwsAccessError(
        `Could not assume ${roleArn}: ${error instanceof Error ? error.message : String(error)}. Deploy the member stack to account ${input.accountId}, or leave the account out with accounts.exclude.`,
        { cause: error },
      );
    }
  };
  return async () => {
    if (fresh(cached)) return cached;
    inFlight ??= assume().finally(() => {
      inFlight = undefined;
    });
    cached = await inFlight;
    return cached;
  };
}
