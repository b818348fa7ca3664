import type { EventLookup, TrailEvent } from '../alerts/key-usage.js';
import { jsonError, SignedCallError, type SignedCallOptions, signedCall } from './signed.js';

/** CloudTrail refused a LookupEvents; `name` is CloudTrail's error type (ThrottlingException, ...). */
export const CloudTrailError = SignedCallError;

/**
 * cloudtrail:LookupEvents over CloudTrail's JSON 1.1 API through `signedCall`. The leak response uses
 * it to show what an exposed key did: @aws-sdk/client-cloudtrail adds 42 KB to a bundle, which would
 * take the respond bundle over its 400 KB budget. Timestamps go and come as epoch seconds, as the
 * JSON 1.1 protocol has them.
 */
export function signedCloudTrail(options: SignedCallOptions): EventLookup {
  const call = signedCall(
    {
      service: 'cloudtrail',
      contentType: 'application/x-amz-json-1.1',
      target: (operation) => `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${operation}`,
      error: (_operation, status, text, headers) => jsonError(status, text, headers),
      retryable: /Throttl/,
    },
    { maxAttempts: 3, ...options },
  );
  return {
    async lookupEvents(input) {
      const text = await call(
        'LookupEvents',
        JSON.stringify({
          LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: input.accessKeyId }],
          StartTime: input.startTime.getTime() / 1000,
          EndTime: input.endTime.getTime() / 1000,
          MaxResults: input.maxResults,
          ...(input.nextToken ? { NextToken: input.nextToken } : {}),
        }),
      );
      const out = (text ? JSON.parse(text) : {}) as { Events?: unknown; NextToken?: unknown };
      const events = (Array.isArray(out.Events) ? out.Events : []).map(
        (e: Record<string, unknown>): TrailEvent => ({
          ...(typeof e.EventName === 'string' ? { EventName: e.EventName } : {}),
          ...(typeof e.EventTime === 'number' ? { EventTime: new Date(e.EventTime * 1000) } : {}),
          ...(typeof e.CloudTrailEvent === 'string' ? { CloudTrailEvent: e.CloudTrailEvent } : {}),
        }),
      );
      return {
        events,
        ...(typeof out.NextToken === 'string' && out.NextToken ? { nextToken: out.NextToken } : {}),
      };
    },
  };
}
