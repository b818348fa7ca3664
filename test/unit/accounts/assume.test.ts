import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { assumedRoleCredentials, memberRoleArn, REFRESH_BEFORE_MS } from '../../../lib/accounts/assume.js';
import { AwsAccessError } from '../../../lib/errors.js';
import { manualClock } from '../../helpers/clock.js';

const sts = mockClient(STSClient);
const START = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const role = { path: '/keyrot/', name: 'keyrot-member', externalId: 'ext-123' };

let issued = 0;
beforeEach(() => {
  sts.reset();
  issued = 0;
});

/** STS answers with a new session each time, valid for an hour from the clock's now. */
function issueFrom(clock: { now(): Date }) {
  sts.on(AssumeRoleCommand).callsFake(() => {
    issued++;
    return {
      Credentials: {
        AccessKeyId: `ASIA${issued}`,
        SecretAccessKey: `secret-${issued}`,
        SessionToken: `token-${issued}`,
        Expiration: new Date(clock.now().getTime() + HOUR),
      },
    };
  });
}

describe('assumedRoleCredentials', () => {
  it('assumes the member role by path with the ExternalId', async () => {
    const clock = manualClock(START);
    issueFrom(clock);
    const provider = assumedRoleCredentials(new STSClient({}), clock, {
      accountId: '111122223333',
      role,
      sessionName: 'keyrot-worker',
    });
    expect(await provider()).toMatchObject({
      accessKeyId: 'ASIA1',
      sessionToken: 'token-1',
      accountId: '111122223333',
    });
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::111122223333:role/keyrot/keyrot-member',
      ExternalId: 'ext-123',
      RoleSessionName: 'keyrot-worker',
    });
    expect(memberRoleArn('111122223333', role)).toBe('arn:aws:iam::111122223333:role/keyrot/keyrot-member');
  });

  it('reuses the session until it is about to expire, then assumes the role again', async () => {
    const clock = manualClock(START);
    issueFrom(clock);
    const provider = assumedRoleCredentials(new STSClient({}), clock, {
      accountId: '111122223333',
      role,
      sessionName: 's',
    });
    expect((await provider()).accessKeyId).toBe('ASIA1');
    await clock.sleep(HOUR - REFRESH_BEFORE_MS - 1000);
    expect((await provider()).accessKeyId).toBe('ASIA1');
    await clock.sleep(2000);
    expect((await provider()).accessKeyId).toBe('ASIA2');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('shares one AssumeRole among calls that arrive together', async () => {
    const clock = manualClock(START);
    issueFrom(clock);
    const provider = assumedRoleCredentials(new STSClient({}), clock, {
      accountId: '1',
      role,
      sessionName: 's',
    });
    const all = await Promise.all([provider(), provider(), provider()]);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIA1']));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('says which role could not be assumed and what to do', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const provider = assumedRoleCredentials(new STSClient({}), manualClock(START), {
      accountId: '111122223333',
      role,
      sessionName: 's',
    });
    const error = await provider().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsAccessError);
    expect((error as Error).message).toMatch(
      /^Could not assume arn:aws:iam::111122223333:role\/keyrot\/keyrot-member: not authorized\. Deploy the member stack/,
    );
  });
});
