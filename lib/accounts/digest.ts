import type { Alert, AlertSeverity } from '../alerts/alerts.js';
import { MAX_LINES, SEVERITY_RANK } from '../alerts/alerts.js';
import type { DynamoDb } from '../aws/dynamodb.js';
import { errorName } from '../aws/errors.js';
import { DAY_MS } from '../clock.js';
import { type AccountLabel, accountLabel } from './label.js';

/**
 * One digest per owner across the organization.
 *
 * The worker runs one account per SQS message, so no single invocation sees every account. Each
 * account's run therefore records its share of the digests (per owner: the lines the single-account
 * scan would have sent) under the run's id, and adds its account id to the run's set of finished
 * accounts. The scheduler put the run's id and its number of accounts in every message. The
 * invocation whose account completes the set, and which wins a conditional write, merges the shares
 * and sends one digest per owner, naming each account. Redelivered messages are harmless: a share is
 * overwritten with the same content and a set ignores a second add. An account that keeps failing is
 * recorded, on its last attempt before the dead-letter queue, as a share that says so, so the run
 * still completes and its owners' digests name it as missing.
 */

/** One owner's digest lines in one account. */
export interface OwnerShare {
  owner?: string;
  severity: AlertSeverity;
  failed: boolean;
  lines: string[];
  slackChannel?: string;
}

/** One account's share of the run's digests. */
export interface DigestShare extends AccountLabel {
  owners: OwnerShare[];
  /** Set when the account could not be run: the digests name it as missing. */
  error?: string;
}

/** An account's share, from the digests the single-account scan makes for it (scanAlerts). */
export function digestShare(account: AccountLabel, digests: readonly Alert[]): DigestShare {
  return {
    accountId: account.accountId,
    accountName: account.accountName,
    alias: account.alias,
    owners: digests.map((d) => ({
      ...(d.owner ? { owner: d.owner } : {}),
      severity: d.severity,
      failed: d.kind === 'failure',
      lines: d.lines,
      ...(d.slackChannel ? { slackChannel: d.slackChannel } : {}),
    })),
  };
}

/**
 * The run's digests: one per owner, every account's lines under the account's name, and the accounts
 * that could not be run named in each. Pure.
 */
export function organizationDigests(runId: string, shares: readonly DigestShare[]): Alert[] {
  const sorted = [...shares].sort((a, b) => a.accountId.localeCompare(b.accountId));
  const missing = sorted.filter((s) => s.error !== undefined);
  const owners = new Map<string, Array<{ share: DigestShare; part: OwnerShare }>>();
  for (const share of sorted)
    for (const part of share.owners) {
      const key = part.owner ?? '';
      owners.set(key, [...(owners.get(key) ?? []), { share, part }]);
    }
  return [...owners.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ownerKey, parts]) => {
      const owner = ownerKey || undefined;
      const accounts = parts.map(({ share }) => share);
      const lines = parts.flatMap(({ share, part }) => part.lines.map((l) => `${accountLabel(share)}: ${l}`));
      const count = lines.length;
      const shown = lines.slice(0, MAX_LINES);
      if (count > MAX_LINES) shown.push(`... and ${count - MAX_LINES} more.`);
      for (const m of missing)
        shown.push(`${accountLabel(m)} could not be read, so it is not in this digest: ${m.error ?? ''}`);
      const severity = parts
        .map(({ part }) => part.severity)
        .reduce<AlertSeverity>((a, b) => (SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a), 'info');
      const failed = parts.some(({ part }) => part.failed);
      const who = owner ? `owner ${owner}` : 'users without an owner';
      const names = accounts.map(accountLabel).join(', ');
      const channel = parts.find(({ part }) => part.slackChannel)?.part.slackChannel;
      return {
        kind: failed ? 'failure' : 'findings',
        severity,
        accountId: accounts.map((a) => a.accountId).join(','),
        accountAlias: accounts.map((a) => a.alias).join(','),
        accounts: accounts.map(({ accountId, alias }) => ({ accountId, alias })),
        ...(owner ? { owner } : {}),
        ...(channel ? { slackChannel: channel } : {}),
        title: `keyrot: ${count} ${count === 1 ? 'item needs' : 'items need'} attention for ${who} in ${accounts.length} ${accounts.length === 1 ? 'account' : 'accounts'}`,
        lines: [`Accounts: ${names}.`, ...shown],
        nextSteps: [
          'Run `keyrot plan --org` (from the hub) for the details of each finding.',
          ...(owner ? [] : ['Tag each user with its owner so alerts reach the right team.']),
        ],
        command: 'keyrot plan --org',
        threadId: `keyrot-scan-org-${owner ?? 'unowned'}`,
        // One digest per owner per run: the ledger sends it once however often the run completes.
        subject: `digest#org#${runId}#${owner ?? 'unowned'}`,
        state: 'sent',
      } satisfies Alert;
    });
}

/** Where the run's shares are kept until the last account is done. */
export interface DigestStore {
  /** Records one account's share (again, on a redelivery: the same key). */
  put(runId: string, share: DigestShare): Promise<void>;
  /**
   * Adds the account to the run's finished set. When the set is complete and this caller is the one
   * that gets to send, returns every share of the run; otherwise undefined.
   */
  finish(runId: string, accountId: string, expected: number): Promise<DigestShare[] | undefined>;
}

/** Records the share, finishes the account, and sends the run's digests if this account completed it. */
export async function contributeToDigest(
  deps: { store: DigestStore; send: (alerts: Alert[]) => Promise<unknown> },
  run: { runId: string; accounts: number },
  share: DigestShare,
): Promise<{ sent: number } | undefined> {
  await deps.store.put(run.runId, share);
  const shares = await deps.store.finish(run.runId, share.accountId, run.accounts);
  if (shares === undefined) return undefined;
  const digests = organizationDigests(run.runId, shares);
  await deps.send(digests);
  return { sent: digests.length };
}

/** Shares and the run's set in the alert ledger's DynamoDB table (partition key `subject`, TTL `expiresAt`). */
export function dynamoDigestStore(db: DynamoDb, table: string, keepDays = 3): DigestStore {
  const expiresAt = () => ({ N: String(Math.ceil((Date.now() + keepDays * DAY_MS) / 1000)) });
  const shareKey = (runId: string, accountId: string) => ({
    subject: { S: `digest-share#${runId}#${accountId}` },
  });
  return {
    async put(runId, share) {
      await db.send('PutItem', {
        TableName: table,
        Item: {
          ...shareKey(runId, share.accountId),
          share: { S: JSON.stringify(share) },
          expiresAt: expiresAt(),
        },
      });
    },
    async finish(runId, accountId, expected) {
      const run = { subject: { S: `digest-run#${runId}` } };
      const updated = (await db.send('UpdateItem', {
        TableName: table,
        Key: run,
        UpdateExpression: 'ADD done :account SET expected = :expected, expiresAt = :expiresAt',
        ExpressionAttributeValues: {
          ':account': { SS: [accountId] },
          ':expected': { N: String(expected) },
          ':expiresAt': expiresAt(),
        },
        ReturnValues: 'ALL_NEW',
      })) as { Attributes?: { done?: { SS?: string[] } } };
      const done = updated.Attributes?.done?.SS ?? [];
      if (done.length < expected) return undefined;
      try {
        await db.send('UpdateItem', {
          TableName: table,
          Key: run,
          UpdateExpression: 'SET sentBy = :account',
          ConditionExpression: 'attribute_not_exists(sentBy)',
          ExpressionAttributeValues: { ':account': { S: accountId } },
        });
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
        throw error;
      }
      const shares: DigestShare[] = [];
      for (let i = 0; i < done.length; i += 100) {
        let keys: Array<Record<string, { S: string }>> = done
          .slice(i, i + 100)
          .map((id) => shareKey(runId, id));
        while (keys.length > 0) {
          const answer = (await db.send('BatchGetItem', {
            RequestItems: { [table]: { Keys: keys, ConsistentRead: true } },
          })) as {
            Responses?: Record<string, Array<{ share?: { S?: string } }>>;
            UnprocessedKeys?: Record<string, { Keys?: Array<Record<string, { S: string }>> }>;
          };
          for (const item of answer.Responses?.[table] ?? [])
            if (item.share?.S) shares.push(JSON.parse(item.share.S) as DigestShare);
          keys = answer.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
      return shares;
    },
  };
}

/** The same store in memory: for tests and one-process runs. */
export function memoryDigestStore(): DigestStore {
  const shares = new Map<string, DigestShare>();
  const runs = new Map<string, { done: Set<string>; sent: boolean }>();
  return {
    async put(runId, share) {
      shares.set(`${runId}#${share.accountId}`, share);
    },
    async finish(runId, accountId, expected) {
      const run = runs.get(runId) ?? { done: new Set<string>(), sent: false };
      runs.set(runId, run);
      run.done.add(accountId);
      if (run.done.size < expected || run.sent) return undefined;
      run.sent = true;
      return [...run.done].flatMap((id) => shares.get(`${runId}#${id}`) ?? []);
    },
  };
}

/** The share of an account that could not be run (its last attempt failed): the digests name it. */
export function unreadableShare(account: AccountLabel, error: unknown): DigestShare {
  return {
    accountId: account.accountId,
    accountName: account.accountName,
    alias: account.alias,
    owners: [],
    error: error instanceof Error ? error.message : String(error),
  };
}

/**
 * What the worker does for the digest after an account's run: a run that succeeded contributes its
 * share; a failed one contributes an "unreadable" share only on its last attempt (SQS's
 * ApproximateReceiveCount has reached the queue's maxReceiveCount, so the message goes to the
 * dead-letter queue next), since an earlier failure is retried and may still succeed.
 */
export async function digestAfterRun(
  deps: Parameters<typeof contributeToDigest>[0],
  message: { accountId: string; accountName: string; runId?: string; accounts?: number },
  outcome: { share: DigestShare } | { error: unknown; receiveCount: number; maxReceiveCount: number },
): Promise<{ sent: number } | undefined> {
  if (message.runId === undefined || message.accounts === undefined) return undefined;
  const run = { runId: message.runId, accounts: message.accounts };
  if ('share' in outcome) return contributeToDigest(deps, run, outcome.share);
  if (outcome.receiveCount < outcome.maxReceiveCount) return undefined;
  const label = {
    accountId: message.accountId,
    accountName: message.accountName,
    alias: message.accountName || message.accountId,
  };
  return contributeToDigest(deps, run, unreadableShare(label, outcome.error));
}
