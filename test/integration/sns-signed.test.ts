import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { snsNotifier } from '../../lib/alerts/sns.js';
import { createSnsClient } from '../../lib/aws/clients.js';
import { SnsError, signedSns } from '../../lib/aws/sns-signed.js';
import { alertQueue } from '../helpers/alerts.js';

// Signed as the test's identity (the administrator role in the environment: moto enforces IAM).
const credentials = () => createSnsClient().config.credentials();

describe('the signed SNS Publish of the rotate and respond functions', () => {
  it('delivers the alert with its subject, message and attributes, as the SDK client does', async () => {
    const sns = createSnsClient();
    const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'signed-alerts' }));
    const queue = await alertQueue(TopicArn, sns);
    const alert = {
      kind: 'user-broken' as const,
      severity: 'critical' as const,
      accountId: '123456789012',
      owner: 'platform',
      userName: 'ci',
      title: 'keyrot: ci has no working key & needs "care" <now>',
      lines: ['a line with ünïcode and = & + signs'],
      nextSteps: ['keyrot rotate --user ci'],
      threadId: 't',
      subject: 'user:ci',
      state: 'broken',
    };
    await snsNotifier(signedSns({ credentials }), TopicArn).send(alert);
    const [received, ...more] = await queue.receive();
    expect(more).toEqual([]);
    expect(received?.attributes).toEqual({
      severity: 'critical',
      kind: 'user-broken',
      owner: 'platform',
      user: 'ci',
    });
    expect(received?.subject).toBe('keyrot: ci has no working key & needs "care" <now>');
    expect(received?.raw).toContain('a line with');
  });

  it('names what SNS refused, without retrying a refusal', async () => {
    const error = await signedSns({ credentials })
      .publish({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:no-such-topic', Message: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnsError);
    expect((error as SnsError).$metadata.httpStatusCode).toBeGreaterThanOrEqual(400);
    expect((error as SnsError).$metadata.httpStatusCode).toBeLessThan(500);
  });
});
