import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type { SnsPort } from '../alerts/sns.js';
import { SignedCallError, type SignedCallOptions, signedCall } from './signed.js';

/** SNS refused a Publish; `name` is SNS's error code (NotFound, AuthorizationError, Throttling...). */
export const SnsError = SignedCallError;
export type SnsError = SignedCallError;

/**
 * sns:Publish over SNS's Query API through `signedCall`. The rotate and respond functions publish with
 * this: @aws-sdk/client-sns adds 22 KB to a bundle (its error classes and schemas), which with the
 * target adapters would take both over the 400 KB budget, and they publish one kind of message. The
 * scan, retire and the CLI use the SDK client.
 */
export function signedSns(options: SignedCallOptions): SnsPort {
  const call = signedCall(
    {
      service: 'sns',
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      error: (_operation, status, text) => {
        const name = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${status}`;
        return { name, message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? name };
      },
      retryable: /Throttl/,
    },
    options,
  );
  return {
    async publish(input) {
      await call('Publish', publishBody(input));
    },
  };
}

/** The Query API form of a Publish (Action, Version, and the input's fields, attributes as entries). */
export function publishBody(input: PublishCommandInput): string {
  const form = new URLSearchParams({ Action: 'Publish', Version: '2010-03-31' });
  for (const key of ['TopicArn', 'Subject', 'Message', 'MessageStructure'] as const) {
    const value = input[key];
    if (value !== undefined) form.set(key, value);
  }
  Object.entries(input.MessageAttributes ?? {}).forEach(([name, value], i) => {
    const entry = `MessageAttributes.entry.${i + 1}`;
    form.set(`${entry}.Name`, name);
    form.set(`${entry}.Value.DataType`, value.DataType ?? 'String');
    if (value.StringValue !== undefined) form.set(`${entry}.Value.StringValue`, value.StringValue);
  });
  return form.toString();
}
