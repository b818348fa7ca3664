import { type CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { EventLookup } from '../alerts/key-usage.js';

/** LookupEvents by AccessKeyId through the SDK client (retire, the CLI). */
export function cloudTrailLookup(client: CloudTrailClient): EventLookup {
  return {
    async lookupEvents(input) {
      const out = await client.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: input.accessKeyId }],
          StartTime: input.startTime,
          EndTime: input.endTime,
          MaxResults: input.maxResults,
          ...(input.nextToken ? { NextToken: input.nextToken } : {}),
        }),
      );
      return { events: out.Events ?? [], ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
    },
  };
}
