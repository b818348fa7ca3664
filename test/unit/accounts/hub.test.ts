import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  hubEnvironment,
  SEND_ATTEMPTS,
  type SendBatch,
  scheduleAccounts,
  scheduleRunId,
  workerEnvironment,
} from '../../../lib/accounts/hub.js';
import { parseAccountMessage } from '../../../lib/accounts/worker.js';
import { ConfigError } from '../../../lib/errors.js';

const org = mockClient(OrganizationsClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/keyrot-hub-ci-accounts';
const RUN = '2026-11-23T05:00:00Z';
const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));

beforeEach(() => {
  org.reset();
});

/** A SendMessageBatch fake that records each call and refuses the entries `refuse` picks. */
function recordingSend(refuse: (id: string, call: number) => boolean = () => false) {
  const calls: string[][] = [];
  const bodies: string[] = [];
  const send: SendBatch = async (queueUrl, entries) => {
    expect(queueUrl).toBe(QUEUE);
    calls.push(entries.map((e) => e.Id));
    bodies.push(...entries.map((e) => e.MessageBody));
    const call = calls.length;
    return {
      Failed: entries
        .filter((e) => refuse(e.Id, call))
        .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    };
  };
  return { calls, bodies, send };
}

describe('scheduleAccounts', () => {
  it('sends one message per selected account, in batches of ten', async () => {
    // Prepare: 23 active accounts and a suspended one.
    org.on(ListAccountsCommand).resolves({
      Accounts: [
        ...ids(23).map((Id) => ({ Id, Name: `team-${Id}`, State: 'ACTIVE' as const })),
        { Id: '999999999999', Name: 'gone', State: 'SUSPENDED' as const },
      ],
    });
    const { calls, bodies, send } = recordingSend();
    // Act
    const result = await scheduleAccounts(
      { org: new OrganizationsClient({}), sendBatch: send },
      QUEUE,
      { include: [], exclude: ['100000000005'] },
      RUN,
    );
    // Assess
    expect(result.sent).toBe(22);
    expect(result.runId).toBe(RUN);
    expect(result.accounts).not.toContain('100000000005');
    expect(calls.map((c) => c.length)).toEqual([10, 10, 2]);
    // Every message names the run and its size, so the digests are merged once all 22 are done.
    expect(parseAccountMessage(bodies[0] ?? '')).toEqual({
      accountId: '100000000000',
      accountName: 'team-100000000000',
      runId: RUN,
      accounts: 22,
    });
    expect(bodies.map((b) => parseAccountMessage(b).runId)).toEqual(Array(22).fill(RUN));
  });

  it('sends again only the entries SQS refused, and succeeds when they get through', async () => {
    org.on(ListAccountsCommand).resolves({
      Accounts: ids(3).map((Id) => ({ Id, Name: Id, State: 'ACTIVE' as const })),
    });
    const { calls, send } = recordingSend((id, call) => id === '100000000001' && call === 1);
    const result = await scheduleAccounts(
      { org: new OrganizationsClient({}), sendBatch: send },
      QUEUE,
      { include: [], exclude: [] },
      RUN,
    );
    expect(calls).toEqual([['100000000000', '100000000001', '100000000002'], ['100000000001']]);
    expect(result.sent).toBe(3);
  });

  it('fails naming the accounts SQS kept refusing, after every batch was tried', async () => {
    org.on(ListAccountsCommand).resolves({
      Accounts: ids(12).map((Id) => ({ Id, Name: Id, State: 'ACTIVE' as const })),
    });
    const { calls, send } = recordingSend((id) => id === '100000000002');
    await expect(
      scheduleAccounts(
        { org: new OrganizationsClient({}), sendBatch: send },
        QUEUE,
        { include: [], exclude: [] },
        RUN,
      ),
    ).rejects.toThrow(
      `SQS refused the messages for 1 account(s) after ${SEND_ATTEMPTS} attempts: 100000000002`,
    );
    // The second batch was still sent.
    expect(calls.at(-1)).toEqual(['100000000010', '100000000011']);
    expect(calls).toHaveLength(SEND_ATTEMPTS + 1);
  });
});

describe('hubEnvironment', () => {
  const complete = {
    ACCOUNT_QUEUE_URL: QUEUE,
    MEMBER_ROLE_PATH: '/keyrot/',
    MEMBER_ROLE_NAME: 'keyrot-member',
    MEMBER_EXTERNAL_ID: 'ext',
    ROTATE_FUNCTION_NAME: 'keyrot-ci-rotate',
    ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: '3',
  };

  it('reads the queue, the member role and the rotate function (the account selection is config)', () => {
    expect(hubEnvironment(complete)).toEqual({
      queueUrl: QUEUE,
      role: { path: '/keyrot/', name: 'keyrot-member', externalId: 'ext' },
      rotateFunctionName: 'keyrot-ci-rotate',
    });
  });

  it("reads the account queue's maxReceiveCount for the worker, and refuses one that is not a count", () => {
    expect(workerEnvironment(complete).maxReceiveCount).toBe(3);
    expect(() => workerEnvironment({ ...complete, ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: '' })).toThrow(
      new ConfigError(
        'Environment variable ACCOUNT_QUEUE_MAX_RECEIVE_COUNT is required (serverless.hub.yml sets it).',
      ),
    );
    expect(() => workerEnvironment({ ...complete, ACCOUNT_QUEUE_MAX_RECEIVE_COUNT: '3x' })).toThrow(
      /maxReceiveCount, a whole number from 1 to 1000 \(got 3x\)/,
    );
  });

  it.each([
    'ACCOUNT_QUEUE_URL',
    'MEMBER_ROLE_PATH',
    'MEMBER_ROLE_NAME',
    'MEMBER_EXTERNAL_ID',
    'ROTATE_FUNCTION_NAME',
  ])('refuses to start without %s, naming it', (name) => {
    expect(() => hubEnvironment({ ...complete, [name]: '' })).toThrow(
      new ConfigError(`Environment variable ${name} is required (serverless.hub.yml sets it).`),
    );
  });

  it('refuses a member role path that does not start and end with a slash', () => {
    expect(() => hubEnvironment({ ...complete, MEMBER_ROLE_PATH: 'keyrot' })).toThrow(
      'MEMBER_ROLE_PATH must start and end with "/" (got keyrot).',
    );
  });
});

describe('scheduleRunId', () => {
  const now = new Date('2026-11-23T05:00:07.123Z');
  it("is the schedule event's time, which a retried invocation of the same event keeps", () => {
    expect(scheduleRunId({ time: RUN }, now)).toBe(RUN);
  });
  it('is the time now without an event time, and keeps only what a message accepts', () => {
    expect(scheduleRunId({}, now)).toBe('2026-11-23T05:00:07.123Z');
    expect(scheduleRunId({ time: '2026-11-23 05:00:00+00' }, now)).toBe('2026-11-2305:00:0000');
  });
});
