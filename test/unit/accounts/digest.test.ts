import { describe, expect, it } from 'vitest';
import {
  contributeToDigest,
  type DigestShare,
  digestAfterRun,
  memoryDigestStore,
  organizationDigests,
  unreadableShare,
} from '../../../lib/accounts/digest.js';
import { type Alert, alertText } from '../../../lib/alerts/alerts.js';

const share = (accountId: string, alias: string, owners: DigestShare['owners']): DigestShare => ({
  accountId,
  accountName: alias,
  alias,
  owners,
});
const a = share('111111111111', 'team-a', [
  { owner: 'o', severity: 'warning', failed: false, lines: ['svc-a: unused'] },
  { owner: 'p', severity: 'info', failed: false, lines: ['svc-p: rotation queued'] },
]);
const b = share('222222222222', 'team-b', [
  { owner: 'o', severity: 'critical', failed: true, lines: ['svc-b: the rotation could not be started'] },
]);

describe('organizationDigests', () => {
  it('makes one digest per owner, each line under its account, at the highest severity of its parts', () => {
    // Act
    const digests = organizationDigests('run-1', [b, a]);
    // Assess
    expect(digests.map((d) => [d.owner, d.kind, d.severity, d.accountId, d.subject])).toEqual([
      ['o', 'failure', 'critical', '111111111111,222222222222', 'digest#org#run-1#o'],
      ['p', 'findings', 'info', '111111111111', 'digest#org#run-1#p'],
    ]);
    expect(digests[0]?.title).toBe('keyrot: 2 items need attention for owner o in 2 accounts');
    expect(digests[0]?.lines).toEqual([
      'Accounts: team-a (111111111111), team-b (222222222222).',
      'team-a (111111111111): svc-a: unused',
      'team-b (222222222222): svc-b: the rotation could not be started',
    ]);
    expect(alertText(digests[0] as Alert)).toContain(
      'Accounts 111111111111 (team-a), 222222222222 (team-b), severity critical, owner o.',
    );
  });

  it('names an account that could not be read in every digest of the run', () => {
    const digests = organizationDigests('run-1', [
      a,
      unreadableShare(
        { accountId: '333333333333', accountName: 'team-c', alias: 'team-c' },
        new Error('denied'),
      ),
    ]);
    expect(digests).toHaveLength(2);
    for (const digest of digests)
      expect(digest.lines).toContain(
        'team-c (333333333333) could not be read, so it is not in this digest: denied',
      );
  });
});

describe('contributeToDigest', () => {
  it('sends the run digests once, when the last account of the run is done, and never again', async () => {
    // Prepare
    const store = memoryDigestStore();
    const sent: Alert[][] = [];
    const deps = { store, send: async (alerts: Alert[]) => sent.push(alerts) };
    const run = { runId: 'run-1', accounts: 2 };
    // Act: account a, then b, then a redelivered.
    const first = await contributeToDigest(deps, run, a);
    const second = await contributeToDigest(deps, run, b);
    const redelivered = await contributeToDigest(deps, run, a);
    // Assess
    expect([first, second, redelivered]).toEqual([undefined, { sent: 2 }, undefined]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.map((d) => d.owner)).toEqual(['o', 'p']);
  });
});

describe('digestAfterRun', () => {
  it('counts a failed account only on its last attempt, and then names it in the digests', async () => {
    // Prepare: a run of two accounts; b fails twice (maxReceiveCount 2).
    const store = memoryDigestStore();
    const sent: Alert[][] = [];
    const deps = { store, send: async (alerts: Alert[]) => sent.push(alerts) };
    const message = (accountId: string, accountName: string) => ({
      accountId,
      accountName,
      runId: 'r',
      accounts: 2,
    });
    const failure = (receiveCount: number) => ({
      error: new Error('AccessDenied'),
      receiveCount,
      maxReceiveCount: 2,
    });
    // Act
    await digestAfterRun(deps, message('222222222222', 'team-b'), failure(1));
    await digestAfterRun(deps, message('111111111111', 'team-a'), { share: a });
    const afterRetry = sent.length;
    await digestAfterRun(deps, message('222222222222', 'team-b'), failure(2));
    // Assess: nothing before the last attempt; then one digest per owner naming team-b as missing.
    expect(afterRetry).toBe(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.map((d) => d.owner)).toEqual(['o', 'p']);
    expect(sent[0]?.[0]?.lines).toContain(
      'team-b (222222222222) could not be read, so it is not in this digest: AccessDenied',
    );
  });

  it('does nothing for a message without a run (sent before digests were collected)', async () => {
    const sent: Alert[][] = [];
    const result = await digestAfterRun(
      { store: memoryDigestStore(), send: async (alerts: Alert[]) => sent.push(alerts) },
      { accountId: '111111111111', accountName: 'team-a' },
      { share: a },
    );
    expect(result).toBeUndefined();
    expect(sent).toEqual([]);
  });
});

describe('alertText', () => {
  it('names the account by id and alias', () => {
    const alert: Alert = {
      kind: 'key-deleted',
      severity: 'info',
      accountId: '111111111111',
      accountAlias: 'team-a',
      title: 't',
      lines: [],
      nextSteps: [],
      threadId: 't',
      subject: 's',
      state: 'x',
    };
    expect(alertText(alert)).toContain('Account 111111111111 (team-a), severity info.');
  });
});
