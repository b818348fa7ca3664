import type { SNSClient } from '@aws-sdk/client-sns';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentity } from '@smithy/types';
import { assertNoKeyMaterial } from './key-material.js';
import { createQueue } from './sqs.js';

export interface ReceivedAlert {
  subject?: string;
  /** The message as the chat integration gets it (the `default` of the published structure). */
  message: Record<string, unknown>;
  attributes: Record<string, string>;
  /** The whole SNS envelope, as text. */
  raw: string;
}

/**
 * An SQS queue subscribed to the alert topic (moto delivers SNS to SQS at once): what an owner's
 * subscription would receive, with its filter policy if given. `receive` drains it, and checks every
 * message for key material.
 */
export async function alertQueue(
  topicArn: string,
  sns: SNSClient,
  credentials?: AwsCredentialIdentity,
  filterPolicy?: Record<string, string[]>,
) {
  const sqs = new SQSClient({ region: 'us-east-1', ...(credentials ? { credentials } : {}) });
  const { url: QueueUrl, arn } = await createQueue(
    sqs,
    `alerts-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: arn,
      ...(filterPolicy ? { Attributes: { FilterPolicy: JSON.stringify(filterPolicy) } } : {}),
    }),
  );
  return {
    async receive(): Promise<ReceivedAlert[]> {
      const alerts: ReceivedAlert[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) return alerts;
        for (const m of Messages) {
          assertNoKeyMaterial(m.Body ?? '');
          const envelope = JSON.parse(m.Body ?? '{}') as {
            Subject?: string;
            Message: string;
            MessageAttributes?: Record<string, { Value: string }>;
          };
          alerts.push({
            ...(envelope.Subject ? { subject: envelope.Subject } : {}),
            message: JSON.parse(envelope.Message),
            attributes: Object.fromEntries(
              Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
            ),
            raw: m.Body ?? '',
          });
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
      }
    },
  };
}
