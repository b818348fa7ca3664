import { Readable } from 'node:stream';
import { type HttpRequest, HttpResponse } from '@smithy/protocol-http';

export interface FakeReply {
  status: number;
  body: string;
}

/**
 * An HTTP handler for SDK clients that answers from a script instead of the network, so the whole
 * SDK stack (serialization, retries, error parsing) runs for real. Records every request's Action.
 */
export function scriptedHandler(script: (action: string, attempt: number) => FakeReply) {
  const actions: string[] = [];
  return {
    actions,
    handle: async (request: HttpRequest) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const action = new URLSearchParams(body).get('Action') ?? 'unknown';
      actions.push(action);
      const reply = script(action, actions.filter((a) => a === action).length);
      return {
        response: new HttpResponse({
          statusCode: reply.status,
          headers: { 'content-type': 'text/xml' },
          body: Readable.from([Buffer.from(reply.body)]),
        }),
      };
    },
  };
}

export const queryError = (code: string, message = code) =>
  `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`;

export const listAccessKeysXml = (
  user: string,
  keys: Array<{ id: string; status: string; created: string }>,
) =>
  `<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><UserName>${user}</UserName><AccessKeyMetadata>${keys
    .map(
      (k) =>
        `<member><UserName>${user}</UserName><AccessKeyId>${k.id}</AccessKeyId><Status>${k.status}</Status><CreateDate>${k.created}</CreateDate></member>`,
    )
    .join(
      '',
    )}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListAccessKeysResponse>`;
