import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { KeyrotError } from '../errors.js';
import { type Alert, alertChatMessage, alertText } from './alerts.js';

/** Some alerts could not be published after the SDK's retries. The others were published. */
export class AlertDeliveryError extends KeyrotError {
  constructor(
    message: string,
    readonly failures: ReadonlyArray<{ alert: Alert; error: unknown }>,
  ) {
    super(message);
    this.name = 'AlertDeliveryError';
  }
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
export function snsSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97)}...`;
}

/**
 * Publishes each alert to the SNS topic: e-mail subscriptions get plain text, every other protocol
 * (Amazon Q Developer / AWS Chatbot for Slack and Teams, HTTPS, SQS, Lambda) the chat-notification
 * JSON. Message attributes carry severity, kind, owner and user, so a subscription's filter policy
 * can send each owner only their alerts. Tries every alert, then throws if any failed.
 */
export async function publishAlerts(
  sns: SNSClient,
  topicArn: string,
  alerts: readonly Alert[],
): Promise<number> {
  const failures: Array<{ alert: Alert; error: unknown }> = [];
  for (const alert of alerts) {
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    try {
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: snsSubject(alert.title),
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: JSON.stringify(alertChatMessage(alert)),
            email: alertText(alert),
          }),
          MessageAttributes: {
            severity: attribute(alert.severity),
            kind: attribute(alert.kind),
            owner: attribute(alert.owner ?? 'none'),
            ...(alert.userName ? { user: attribute(alert.userName) } : {}),
          },
        }),
      );
    } catch (error) {
      failures.push({ alert, error });
    }
  }
  if (failures.length > 0) {
    const first = failures[0]?.error;
    throw new AlertDeliveryError(
      `${failures.length} of ${alerts.length} alert(s) could not be published to ${topicArn}: ${first instanceof Error ? first.message : String(first)}`,
      failures,
    );
  }
  return alerts.length;
}

/**
 * Publishes the alerts when an alert topic is configured, and reports instead of throwing, so a
 * handler can log its summary first and then fail the invocation with `error` (Lambda retries it).
 */
export async function deliverAlerts(
  sns: SNSClient,
  topicArn: string | undefined,
  alerts: readonly Alert[],
): Promise<{ published: number; error?: AlertDeliveryError }> {
  if (!topicArn) return { published: 0 };
  try {
    return { published: await publishAlerts(sns, topicArn, alerts) };
  } catch (error) {
    if (!(error instanceof AlertDeliveryError)) throw error;
    return { published: alerts.length - error.failures.length, error };
  }
}
