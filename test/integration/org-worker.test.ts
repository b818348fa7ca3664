import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accountsToWorkIn } from '../../lib/accounts/organization.js';
import { type AccountRun, runAccount } from '../../lib/accounts/run-account.js';
import { accountMessageBatches, processAccountBatch } from '../../lib/accounts/worker.js';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS, systemClock } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { memberClients as seededMemberClients, seedOrganization } from '../../lib/testbed/org.js';
import { seedUsers } from '../../lib/testbed/seed.js';

/**
 * Organization mode on one moto: the hub lists the organization's accounts, sends one SQS message per
 * member account, and the worker, reading those messages back from the queue, assumes the member role
 * in each account and scans and retires there. moto gives each assumed account its own IAM and
 * Secrets Manager state, so where each change lands shows which account the worker acted in.
 */
const HUB = '123456789012';
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: 'org-test' };

const memberClients = (accountId: string) => seededMemberClients(accountId, ROLE);

describe('organization mode: scheduler -> SQS -> worker, on moto', () => {
  // This file runs with moto's request authentication off: moto 5.2.1 with the policy shim answers
  // cross-account AssumeRole into member accounts with an HTML 500 when authentication is on. The
  // hub's least privilege is not shown here (issue 12 leaves it open).
  beforeAll(async () => {
    await fetch(`${process.env.AWS_ENDPOINT_URL ?? ''}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
  });

  it('runs each member account as its member role, and reports the bad message as a partial batch failure', async () => {
    // Prepare: an organization with two member accounts, each with a machine user due for onboarding.
    const org = new OrganizationsClient({});
    const members = await seedOrganization(org, ['team-a', 'team-b']);
    for (const [i, accountId] of members.entries()) {
      const clients = await memberClients(accountId);
      await seedUsers(clients.iam, process.env.AWS_ENDPOINT_URL ?? '', [
        { userName: `svc-${i}`, path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
      ]);
    }
    const sqs = new SQSClient({});
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'keyrot-ci-accounts' }));

    // Act: the scheduler's part (every account but the hub itself), plus one unreadable message.
    const accounts = await accountsToWorkIn(org, { include: [], exclude: [HUB] });
    expect(accounts.map((a) => a.id).sort()).toEqual([...members].sort());
    for (const Entries of accountMessageBatches(accounts))
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"accountId":"nope"}' }));
    // The worker's part, over the messages as SQS delivers them.
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages).toHaveLength(3);
    const runs: AccountRun[] = [];
    const { response } = await processAccountBatch(
      Messages.map((m) => ({ messageId: m.MessageId ?? '', body: m.Body ?? '' })),
      async (message) => {
        runs.push(
          await runAccount(
            {
              sts: createClients().sts,
              clock: systemClock,
              role: ROLE,
              rotateFunctionName: 'keyrot-ci-rotate',
              region: 'us-east-1',
            },
            defaultConfig,
            message,
            new Date(Date.now() + 100 * DAY_MS),
          ),
        );
      },
      2,
    );
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: Messages.filter((m) => !failed.has(m.MessageId ?? '')).map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle ?? '',
        })),
      }),
    );

    // Assess: only the unreadable message failed.
    const bad = Messages.find((m) => m.Body === '{"accountId":"nope"}');
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad?.MessageId }]);
    // Each account was read as itself: one machine user each, its own.
    expect(runs.map((r) => [r.accountId, r.scan.accountId, r.scan.machineUsers]).sort()).toEqual(
      members.map((id) => [id, id, 1]).sort(),
    );
    // The onboarding landed in each member account's Secrets Manager, not in the hub's.
    for (const [i, accountId] of members.entries()) {
      const member = await memberClients(accountId);
      const secret = await member.secrets.send(new DescribeSecretCommand({ SecretId: `keyrot/svc-${i}` }));
      expect(secret.ARN).toContain(`:${accountId}:secret:keyrot/svc-${i}`);
      expect(secret.RotationLambdaARN).toBe(
        `arn:aws:lambda:us-east-1:${accountId}:function:keyrot-ci-rotate`,
      );
    }
    await expect(
      createClients().secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/svc-0' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
