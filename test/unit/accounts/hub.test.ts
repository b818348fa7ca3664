import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  hubEnvironment,
  SEND_ATTEMPTS,
  type SendBatch,
  scheduleAccounts,
} from '../../../lib/accounts/hub.js';
import { ConfigError } from '../../../lib/errors.js';

const org = mockClient(OrganizationsClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/keyrot-hub-ci-accounts';
const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));

beforeEach(() => {
  org.reset();
});

/** A SendMessageBatch fake that records each call and refuses the entries `refuse` picks. */
function recordingSend(refuse: (id: string, call: number) => boolean = () => false) {
  const calls: string[][] = [];
  const send: SendBatch = async (queueUrl, entries) => {
    expect(queueUrl).toBe(QUEUE);
    calls.push(entries.map((e) => e.Id));
    const call = calls.length;
    return {
      Failed: entries
        .filter((e) => refuse(e.Id, call))
        .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    };
  };
  return { calls, send };
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
    const { calls, send } = recordingSend();
    // Act
    const result = await scheduleAccounts({ org: new OrganizationsClient({}), sendBatch: send }, QUEUE, {
      include: [],
      exclude: ['100000000005'],
    });
    // Assess
    expect(result.sent).toBe(22);
    expect(result.accounts).not.toContain('100000000005');
    expect(calls.map((c) => c.length)).toEqual([10, 10, 2]);
  });

  it('sends again only the entries SQS refused, and succeeds when they get through', async () => {
    org.on(ListAccountsCommand).resolves({
      Accounts: ids(3).map((Id) => ({ Id, Name: Id, State: 'ACTIVE' as const })),
    });
    const { calls, send } = recordingSend((id, call) => id === '100000000001' && call === 1);
    const result = await scheduleAccounts({ org: new OrganizationsClient({}), sendBatch: send }, QUEUE, {
      include: [],
      exclude: [],
    });
    expect(calls).toEqual([['100000000000', '100000000001', '100000000002'], ['100000000001']]);
    expect(result.sent).toBe(3);
  });

  it('fails naming the accounts SQS kept refusing, after every batch was tried', async () => {
    org.on(ListAccountsCommand).resolves({
      Accounts: ids(12).map((Id) => ({ Id, Name: Id, State: 'ACTIVE' as const })),
    });
    const { calls, send } = recordingSend((id) => id === '100000000002');
    await expect(
      scheduleAccounts({ org: new OrganizationsClient({}), sendBatch: send }, QUEUE, {
        include: [],
        exclude: [],
      }),
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
    ACCOUNTS_INCLUDE: ' ou-ab12-cdefgh12 , 111111111111',
    ACCOUNTS_EXCLUDE: '',
  };

  it('reads the queue, the member role, the rotate function and the account selector', () => {
    expect(hubEnvironment(complete)).toEqual({
      queueUrl: QUEUE,
      role: { path: '/keyrot/', name: 'keyrot-member', externalId: 'ext' },
      rotateFunctionName: 'keyrot-ci-rotate',
      selector: { include: ['ou-ab12-cdefgh12', '111111111111'], exclude: [] },
    });
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
