import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { SnsPort } from '../alerts/sns.js';

/** The SDK's SNS client as the alerts' SNS port (scan, retire, the CLI). */
export function sdkSns(client: SNSClient): SnsPort {
  return {
    async publish(input) {
      await client.send(new PublishCommand(input));
    },
  };
}
