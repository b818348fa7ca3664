import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.js';
import type { MemberRole } from './assume.js';
import { type AccountSelector, accountsToWorkIn } from './organization.js';
import { accountMessageBatches } from './worker.js';

/**
 * The hub stack's settings, from the environment serverless.hub.yml sets (read once per container):
 * only what its CloudFormation resources and policies also name. Which accounts to work in is the
 * config's `accounts.include` / `accounts.exclude` (the shipped keyrot.config.json), not an
 * environment variable. A missing variable is a deployment mistake: it names the variable.
 */
export interface HubEnvironment {
  /** ACCOUNT_QUEUE_URL: the queue the scheduler fills and the worker reads. */
  queueUrl: string;
  /**
   * MEMBER_ROLE_PATH, MEMBER_ROLE_NAME, MEMBER_EXTERNAL_ID: the role the worker assumes in each
   * account (the path and name also scope the worker role's sts:AssumeRole, so they are deploy
   * parameters, not config).
   */
  role: MemberRole;
  /** ROTATE_FUNCTION_NAME: the member stack's rotate function (same name in every member account). */
  rotateFunctionName: string;
}

/** The worker's settings besides the hub's: the account queue's redrive limit. */
export interface WorkerEnvironment extends HubEnvironment {
  /**
   * ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: the account queue's maxReceiveCount (its RedrivePolicy). A failed
   * account whose message was received this many times goes to the dead-letter queue next: that
   * attempt is the last, and the run's digests name the account as missing.
   */
  maxReceiveCount: number;
}

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name];
  if (value === undefined || value === '')
    throw new ConfigError(`Environment variable ${name} is required (serverless.hub.yml sets it).`);
  return value;
};

export function hubEnvironment(env: NodeJS.ProcessEnv = process.env): HubEnvironment {
  const path = required(env, 'MEMBER_ROLE_PATH');
  if (!path.startsWith('/') || !path.endsWith('/'))
    throw new ConfigError(`MEMBER_ROLE_PATH must start and end with "/" (got ${path}).`);
  return {
    queueUrl: required(env, 'ACCOUNT_QUEUE_URL'),
    role: { path, name: required(env, 'MEMBER_ROLE_NAME'), externalId: required(env, 'MEMBER_EXTERNAL_ID') },
    rotateFunctionName: required(env, 'ROTATE_FUNCTION_NAME'),
  };
}

export function workerEnvironment(env: NodeJS.ProcessEnv = process.env): WorkerEnvironment {
  const text = required(env, 'ACCOUNT_QUEUE_MAX_RECEIVE_COUNT');
  const maxReceiveCount = Number(text);
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000)
    throw new ConfigError(
      `ACCOUNT_QUEUE_MAX_RECEIVE_COUNT must be the account queue's maxReceiveCount, a whole number from 1 to 1000 (got ${text}).`,
    );
  return { ...hubEnvironment(env), maxReceiveCount };
}

/** The one SQS call the scheduler makes: SendMessageBatch, behind a port (tests hand in a fake). */
export type SendBatch = (
  queueUrl: string,
  entries: Array<{ Id: string; MessageBody: string }>,
) => Promise<Pick<SendMessageBatchCommandOutput, 'Failed'>>;

export class ScheduleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScheduleError';
  }
}

/** How many times the scheduler sends again the entries SQS refused in a batch. */
export const SEND_ATTEMPTS = 3;

/**
 * The scheduler's run: the organization's accounts, filtered by the config's selector, as one SQS
 * message per account in batches of ten, each carrying the run's id and size (so the accounts' digest
 * shares are merged into one digest per owner once the run's last account is done). Entries SQS refuses are sent again; if some still fail, the run fails after every
 * batch was tried, so Lambda retries it (the worker's runs are idempotent: a duplicate message costs
 * a rerun, never a key).
 */
export async function scheduleAccounts(
  deps: { org: OrganizationsClient; sendBatch: SendBatch },
  queueUrl: string,
  selector: AccountSelector,
  /** The run's id: the schedule event's time (a retried invocation of the same event keeps it). */
  runId: string,
): Promise<{ accounts: string[]; sent: number; runId: string }> {
  const accounts = await accountsToWorkIn(deps.org, selector);
  let sent = 0;
  const failed: string[] = [];
  for (const batch of accountMessageBatches(accounts, runId)) {
    let pending = batch;
    for (let attempt = 1; attempt <= SEND_ATTEMPTS && pending.length > 0; attempt++) {
      const { Failed = [] } = await deps.sendBatch(queueUrl, pending);
      const refused = new Set(Failed.map((f) => f.Id));
      sent += pending.length - refused.size;
      pending = pending.filter((entry) => refused.has(entry.Id));
    }
    failed.push(...pending.map((entry) => entry.Id));
  }
  if (failed.length > 0)
    throw new ScheduleError(
      `SQS refused the messages for ${failed.length} account(s) after ${SEND_ATTEMPTS} attempts: ${failed.join(', ')}`,
    );
  return { accounts: accounts.map((a) => a.id), sent, runId };
}

/**
 * The run's id, from the schedule event: its time (`2026-11-23T05:00:00Z`, the same when Lambda
 * retries the invocation, so a resent account joins the same run), else the time now. Only the
 * characters an account message's runId accepts are kept.
 */
export function scheduleRunId(event: { time?: string }, now: Date): string {
  const id = (event.time || now.toISOString()).replace(/[^\w:.-]/g, '').slice(0, 64);
  return id || now.toISOString();
}
