import { PublishCommand, type PublishCommandInput, type SNSClient } from '@aws-sdk/client-sns';
import { type Alert, alertChatMessage, alertText } from './alerts.js';
import type { Notifier } from './notifier.js';

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
export function snsSubject(title: string): string {
  const ascii = title.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97)}...`;
}

/**
 * What is published for an alert: e-mail subscriptions get plain text, every other protocol (Amazon
 * Q Developer / AWS Chatbot for Slack and Teams, HTTPS, SQS, Lambda) the chat-notification JSON.
 * Message attributes carry severity, kind, owner and user, so a subscription's filter policy can send
 * each owner only their alerts.
 */
export function snsPublishInput(topicArn: string, alert: Alert): PublishCommandInput {
  const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
  return {
    TopicArn: topicArn,
    Subject: snsSubject(alert.title),
    MessageStructure: 'json',
    Message: JSON.stringify({ default: JSON.stringify(alertChatMessage(alert)), email: alertText(alert) }),
    MessageAttributes: {
      severity: attribute(alert.severity),
      kind: attribute(alert.kind),
      owner: attribute(alert.owner ?? 'none'),
      ...(alert.userName ? { user: attribute(alert.userName) } : {}),
    },
  };
}

/** The SNS adapter of the Notifier port: every alert goes to the one topic. */
export function snsNotifier(sns: SNSClient, topicArn: string): Notifier {
  return {
    channel: 'sns',
    async send(alert) {
      await sns.send(new PublishCommand(snsPublishInput(topicArn, alert)));
      return 'sent';
    },
  };
}
