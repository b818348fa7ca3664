import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { mapLimit } from '../concurrency.js';

/** One SQS message per account: what the scheduler sends and the worker reads. */
const accountMessageSchema = z.strictObject({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  accountName: z.string(),
  /** The scheduler's run: the organization's digests are sent once every account of it is done. */
  runId: z.optional(z.string().check(z.regex(/^[\w:.-]{1,64}$/))),
  /** How many accounts the run has. */
  accounts: z.optional(z.int().check(z.minimum(1))),
});

export type AccountMessage = z.infer<typeof accountMessageSchema>;

export class AccountMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AccountMessageError';
  }
}

export function parseAccountMessage(body: string): AccountMessage {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new AccountMessageError('the message body is not JSON', { cause: error });
  }
  const parsed = z.safeParse(accountMessageSchema, document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field =
      issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue?.path.join('.');
    throw new AccountMessageError(
      `the message is not an account message: ${field || '(body)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** The SQS messages for these accounts, in SendMessageBatch's batches of at most 10. */
export function accountMessageBatches(
  accounts: ReadonlyArray<{ id: string; name: string }>,
  /** The run's id (e.g. the schedule's time): the digests go out once all of its accounts are done. */
  runId?: string,
): Array<Array<{ Id: string; MessageBody: string }>> {
  const batches: Array<Array<{ Id: string; MessageBody: string }>> = [];
  accounts.forEach((account, i) => {
    if (i % 10 === 0) batches.push([]);
    const message: AccountMessage = {
      accountId: account.id,
      accountName: account.name,
      ...(runId === undefined ? {} : { runId, accounts: accounts.length }),
    };
    batches[batches.length - 1]?.push({ Id: account.id, MessageBody: JSON.stringify(message) });
  });
  return batches;
}

export interface AccountOutcome {
  messageId: string;
  accountId?: string;
  error?: unknown;
}

/**
 * Runs one account per message, at most `concurrency` at once, and reports each message that failed
 * (an unreadable message, or the account's run throwing) as a partial batch failure: SQS makes only
 * those visible again, and after the queue's maxReceiveCount moves them to the dead-letter queue.
 * The event source mapping needs ReportBatchItemFailures for this.
 */
export async function processAccountBatch<R extends Pick<SQSRecord, 'messageId' | 'body'>>(
  records: readonly R[],
  /** Gets the record too: its `attributes.ApproximateReceiveCount` tells a last attempt (digestAfterRun). */
  runAccount: (message: AccountMessage, record: R) => Promise<void>,
  concurrency: number,
): Promise<{ response: SQSBatchResponse; outcomes: AccountOutcome[] }> {
  const outcomes = await mapLimit(records, concurrency, async (record): Promise<AccountOutcome> => {
    let message: AccountMessage;
    try {
      message = parseAccountMessage(record.body);
    } catch (error) {
      return { messageId: record.messageId, error };
    }
    try {
      await runAccount(message, record);
      return { messageId: record.messageId, accountId: message.accountId };
    } catch (error) {
      return { messageId: record.messageId, accountId: message.accountId, error };
    }
  });
  return {
    response: {
      batchItemFailures: outcomes
        .filter((o) => o.error !== undefined)
        .map((o) => ({ itemIdentifier: o.messageId })),
    },
    outcomes,
  };
}
