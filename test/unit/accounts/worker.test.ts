import { describe, expect, it } from 'vitest';
import {
  AccountMessageError,
  accountMessageBatches,
  parseAccountMessage,
  processAccountBatch,
} from '../../../lib/accounts/worker.js';

const body = (accountId: string) => JSON.stringify({ accountId, accountName: `name-${accountId}` });

describe('account messages', () => {
  it('sends one message per account, in batches of at most 10', () => {
    const accounts = Array.from({ length: 23 }, (_, i) => ({ id: String(100000000000 + i), name: `a${i}` }));
    const batches = accountMessageBatches(accounts);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches[2]?.[2]).toEqual({
      Id: '100000000022',
      MessageBody: body('100000000022').replace('name-100000000022', 'a22'),
    });
  });

  it("carries the run's id and size when given, for the organization's digests", () => {
    const [batch] = accountMessageBatches(
      [
        { id: '100000000001', name: 'a' },
        { id: '100000000002', name: 'b' },
      ],
      '2026-11-23T06:00:00Z',
    );
    const messages = (batch ?? []).map((entry) => parseAccountMessage(entry.MessageBody));
    expect(messages).toEqual([
      { accountId: '100000000001', accountName: 'a', runId: '2026-11-23T06:00:00Z', accounts: 2 },
      { accountId: '100000000002', accountName: 'b', runId: '2026-11-23T06:00:00Z', accounts: 2 },
    ]);
  });

  it('hands the record to the run, so a last attempt can be told', async () => {
    const record = {
      messageId: 'm1',
      body: body('100000000001'),
      attributes: { ApproximateReceiveCount: '3' },
    };
    const seen: string[] = [];
    await processAccountBatch(
      [record],
      async (message, r) => {
        seen.push(`${message.accountId}:${r.attributes.ApproximateReceiveCount}`);
      },
      1,
    );
    expect(seen).toEqual(['100000000001:3']);
  });

  it.each([
    ['not json', 'the message body is not JSON'],
    [JSON.stringify({ accountId: '12', accountName: 'x' }), 'accountId'],
    [JSON.stringify({ accountId: '123456789012', accountName: 'x', extra: 1 }), 'extra'],
  ])('refuses a message that is not an account message: %s', (text, names) => {
    expect(() => parseAccountMessage(text)).toThrow(AccountMessageError);
    expect(() => parseAccountMessage(text)).toThrow(names);
  });
});

describe('processAccountBatch', () => {
  it('reports exactly the messages that failed, and runs every other account', async () => {
    const ran: string[] = [];
    const { response, outcomes } = await processAccountBatch(
      [
        { messageId: 'm1', body: body('111111111111') },
        { messageId: 'm2', body: body('222222222222') },
        { messageId: 'm3', body: 'garbage' },
        { messageId: 'm4', body: body('444444444444') },
      ],
      async (message) => {
        if (message.accountId === '222222222222') throw new Error('AssumeRole denied');
        ran.push(message.accountId);
      },
      2,
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
    expect(ran.sort()).toEqual(['111111111111', '444444444444']);
    expect(outcomes.find((o) => o.messageId === 'm2')).toMatchObject({ accountId: '222222222222' });
  });

  it('never runs more accounts at once than its concurrency', async () => {
    let running = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const records = Array.from({ length: 7 }, (_, i) => ({
      messageId: `m${i}`,
      body: body(String(100000000000 + i)),
    }));
    const done = processAccountBatch(
      records,
      () =>
        new Promise<void>((resolve) => {
          running++;
          most = Math.max(most, running);
          release.push(() => {
            running--;
            resolve();
          });
        }),
      3,
    );
    // Release runs one at a time as they start, until all 7 are done.
    for (let finished = 0; finished < 7; ) {
      await new Promise((r) => setImmediate(r));
      const next = release.shift();
      if (next) {
        next();
        finished++;
      }
    }
    expect((await done).response.batchItemFailures).toEqual([]);
    expect(most).toBe(3);
  });
});
