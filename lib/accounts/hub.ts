import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.js';
import type { MemberRole } from './assume.js';
import { type AccountSelector, accountsToWorkIn } from './organization.js';
import { accountMessageBatches } from './worker.js';

/**
 * The hub stack's settings, from the environment serverless.hub.yml sets (read once per container).
 * A missing variable is a deployment mistake: it names the variable and the parameter that sets it.
 */
export interface HubEnvironment {
  /** ACCOUNT_QUEUE_URL: the queue the scheduler fills and the worker reads. */
  queueUrl: string;
  /** MEMBER_ROLE_PATH, MEMBER_ROLE_NAME, MEMBER_EXTERNAL_ID: the role the worker assumes in each account. */
  role: MemberRole;
  /** ROTATE_FUNCTION_NAME: the member stack's rotate function (same name in every member account). */
  rotateFunctionName: string;
  /** ACCOUNTS_INCLUDE / ACCOUNTS_EXCLUDE: comma-separated account ids and OU ids (empty: every account). */
  selector: AccountSelector;
}

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name];
  if (value === undefined || value === '')
    throw new ConfigError(`Environment variable ${name} is required (serverless.hub.yml sets it).`);
  return value;
};
const idList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

export function hubEnvironment(env: NodeJS.ProcessEnv = process.env): HubEnvironment {
  const path = required(env, 'MEMBER_ROLE_PATH');
  if (!path.startsWith('/') || !path.endsWith('/'))
    throw new ConfigError(`MEMBER_ROLE_PATH must start and end with "/" (got ${path}).`);
  return {
    queueUrl: required(env, 'ACCOUNT_QUEUE_URL'),
    role: { path, name: required(env, 'MEMBER_ROLE_NAME'), externalId: required(env, 'MEMBER_EXTERNAL_ID') },
    rotateFunctionName: required(env, 'ROTATE_FUNCTION_NAME'),
    selector: { include: idList(env.ACCOUNTS_INCLUDE), exclude: idList(env.ACCOUNTS_EXCLUDE) },
  };
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
 * The scheduler's run: the organization's accounts, filtered, as one SQS message per account in
 * batches of ten. Entries SQS refuses are sent again; if some still fail, the run fails after every
 * batch was tried, so Lambda retries it (the worker's runs are idempotent: a duplicate message costs
 * a rerun, never a key).
 */
export async function scheduleAccounts(
  deps: { org: OrganizationsClient; sendBatch: SendBatch },
  queueUrl: string,
  selector: AccountSelector,
): Promise<{ accounts: string[]; sent: number }> {
  const accounts = await accountsToWorkIn(deps.org, selector);
  let sent = 0;
  const failed: string[] = [];
  for (const batch of accountMessageBatches(accounts)) {
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
  return { accounts: accounts.map((a) => a.id), sent };
}
