import type { STSClient } from '@aws-sdk/client-sts';
import { type Alert, retirementAlerts, scanAlerts, withOwners } from '../alerts/alerts.js';
import { SLACK_CHANNEL_TAG, userRoutes } from '../alerts/owners.js';
import { type ClientOptions, createClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { KeyrotError } from '../errors.js';
import { retireAccount } from '../retirement/retire.js';
import { type StartResult, startRotations } from '../rotation/start.js';
import { scanAccount, summarize } from '../scan.js';
import { assumedRoleCredentials, type MemberRole } from './assume.js';
import { type DigestShare, digestShare } from './digest.js';
import { accountAlias } from './label.js';
import type { AccountMessage } from './worker.js';

export interface AccountRunDeps {
  /** The hub's STS client, which assumes the member role. */
  sts: STSClient;
  /** The real clock: it paces polling, stamps records and times credential renewal. */
  clock: Clock;
  role: MemberRole;
  /** The member stack's rotate function, by name, in the same region as the hub. */
  rotateFunctionName: string;
  region: string;
  /** Extra client settings (tests: call counters, retries). */
  clientOptions?: ClientOptions;
}

export interface AccountRun {
  accountId: string;
  accountName: string;
  /** The account's IAM alias, else its Organizations name, else its id. */
  alias: string;
  scan: ReturnType<typeof summarize>;
  rotations: StartResult[];
  retirement: { machineUsers: number; managed: number; selected: number; failed: string[] };
  /** This account's share of the organization's digests (one per owner, sent once for all accounts). */
  digest: DigestShare;
  /** Retirement's alerts (held, deactivated, deleted keys, failures), with owner, account id and alias. */
  alerts: Alert[];
}

/**
 * One member account's daily work, run by the hub's worker as the member role: the scan (inventory,
 * plan, rotations started through that account's Secrets Manager and rotate function), then
 * retirement. Retirement failures fail the run after everything was done, so the message is retried
 * (a rerun is safe) and, if it keeps failing, parked on the dead-letter queue.
 */
export async function runAccount(
  deps: AccountRunDeps,
  config: Config,
  message: AccountMessage,
  /** The time decisions are made as of (a simulated date in tests); the clock stays real. */
  now: Date = deps.clock.now(),
): Promise<AccountRun> {
  const credentials = assumedRoleCredentials(deps.sts, deps.clock, {
    accountId: message.accountId,
    role: deps.role,
    sessionName: 'keyrot-worker',
  });
  // Assume first, so a role that can't be assumed fails the run with that error, not as a missing alias.
  await credentials();
  const clients = createClients({ ...deps.clientOptions, region: deps.region, credentials });
  const alias = await accountAlias(clients.iam, { id: message.accountId, name: message.accountName });
  const label = { accountId: message.accountId, accountName: message.accountName, alias };
  const scan = await scanAccount({ clients, clock: deps.clock }, config, now);
  const rotateFunctionArn = `arn:aws:lambda:${deps.region}:${message.accountId}:function:${deps.rotateFunctionName}`;
  // The report's time tells a rotation cut over since the report was generated (as the scan function does).
  const rotations = await startRotations(
    clients.secrets,
    scan.plan,
    config,
    rotateFunctionArn,
    scan.inventory,
  );
  const { selection, results } = await retireAccount({ clients, clock: deps.clock }, config, now);
  const failed = results.flatMap((r) => ('error' in r ? [r.userName] : []));
  const channels = new Map(
    scan.inventory.users.flatMap((u) => {
      const channel = u.tags[SLACK_CHANNEL_TAG];
      return channel ? [[u.userName, channel] as const] : [];
    }),
  );
  const found = retirementAlerts(message.accountId, results);
  // Owners are read (iam:ListUserTags) only for the users an alert is about.
  const routes =
    found.length > 0
      ? await userRoutes(
          clients.iam,
          found.flatMap((a) => (a.userName ? [a.userName] : [])),
          config.ownerTag,
        )
      : new Map();
  const run: AccountRun = {
    accountId: message.accountId,
    accountName: message.accountName,
    alias,
    digest: digestShare(label, scanAlerts(scan.plan, rotations, channels)),
    alerts: withOwners(found, routes).map((a) => ({ ...a, accountAlias: alias })),
    scan: summarize(scan),
    rotations,
    retirement: {
      machineUsers: selection.machineUsers,
      managed: selection.managed,
      selected: selection.selected.length,
      failed,
    },
  };
  if (failed.length > 0) {
    throw new AccountRunError(
      `Retirement failed in account ${message.accountId} for ${failed.length} user(s): ${failed.join(', ')}`,
      run,
    );
  }
  return run;
}

export class AccountRunError extends KeyrotError {
  constructor(
    message: string,
    readonly run: AccountRun,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AccountRunError';
  }
}
