import { Readable } from 'node:stream';
import { type HttpRequest, HttpResponse } from '@smithy/protocol-http';

export type ScriptedReply = Error | { status: number; body?: string; headers?: Record<string, string> };

/**
 * An SDK HTTP handler (`requestHandler`) that answers from a list, the last reply repeating, and
 * records each request; a reply that is an Error is thrown, as a connection failure would be.
 */
export function scriptedHandler(replies: ScriptedReply[]) {
  const requests: HttpRequest[] = [];
  return {
    requests,
    handle: async (request: HttpRequest) => {
      requests.push(request);
      const reply = replies[Math.min(requests.length - 1, replies.length - 1)] ?? { status: 500 };
      if (reply instanceof Error) throw reply;
      return {
        response: new HttpResponse({
          statusCode: reply.status,
          headers: reply.headers ?? {},
          body: Readable.from([Buffer.from(reply.body ?? '')]),
        }),
      };
    },
  };
}
