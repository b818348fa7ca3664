import { describe, expect, it } from 'vitest';
import { keyUsageLookup, type Pace } from '../../../lib/alerts/key-usage.js';
import { CloudTrailError, signedCloudTrail } from '../../../lib/aws/cloudtrail-signed.js';
import { scriptedHandler } from '../../helpers/http-handler.js';

const credentials = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'not-a-real-secret' };
const pace: Pace = { nowMs: () => Date.parse('2026-11-20T07:00:00Z'), sleep: async () => {} };
const trail = (ip: string, name: string, epochSeconds: number) => ({
  EventName: name,
  EventTime: epochSeconds,
  CloudTrailEvent: JSON.stringify({ sourceIPAddress: ip, userAgent: 'curl/8.5.0', eventName: name }),
});

describe("the leak response's signed CloudTrail LookupEvents", () => {
  it('signs a JSON 1.1 LookupEvents by AccessKeyId, pages on, and reads epoch-second times', async () => {
    // Prepare: two pages.
    const handler = scriptedHandler([
      {
        status: 200,
        body: JSON.stringify({
          Events: [trail('198.51.100.9', 'ListBuckets', 1_763_622_000)],
          NextToken: 'p2',
        }),
      },
      {
        status: 200,
        body: JSON.stringify({ Events: [trail('198.51.100.9', 'GetCallerIdentity', 1_763_621_000)] }),
      },
    ]);
    const cloudtrail = signedCloudTrail({
      credentials,
      region: 'us-east-1',
      endpoint: 'https://cloudtrail.us-east-1.amazonaws.com',
      requestHandler: handler,
    });
    // Act
    const usage = await keyUsageLookup(cloudtrail, pace)('AKIAEXPOSED000000001');
    // Assess: what it asked
    const [first, second] = handler.requests;
    expect(first?.headers['x-amz-target']).toBe(
      'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
    );
    expect(first?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(first?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001\/\d{8}\/us-east-1\/cloudtrail\/aws4_request, SignedHeaders=/,
    );
    const end = Date.parse('2026-11-20T07:00:00Z') / 1000;
    expect(JSON.parse(String(first?.body))).toEqual({
      LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: 'AKIAEXPOSED000000001' }],
      StartTime: end - 90 * 86_400,
      EndTime: end,
      MaxResults: 50,
    });
    expect(JSON.parse(String(second?.body))).toMatchObject({ NextToken: 'p2' });
    // ... and what it made of the answers
    expect(usage).toEqual([
      {
        sourceIp: '198.51.100.9',
        userAgent: 'curl/8.5.0',
        eventNames: ['GetCallerIdentity', 'ListBuckets'],
        lastSeen: new Date(1_763_622_000 * 1000).toISOString(),
        events: 2,
      },
    ]);
  });

  it('retries throttling, then gives up with CloudTrail’s error; a refusal is not retried', async () => {
    const throttled = scriptedHandler([
      { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' },
    ]);
    const cloudtrail = signedCloudTrail({
      credentials,
      region: 'us-east-1',
      requestHandler: throttled,
      sleep: async () => {},
    });
    const input = {
      accessKeyId: 'AKIAEXPOSED000000001',
      startTime: new Date(0),
      endTime: new Date(1000),
      maxResults: 50,
    };
    const error = await cloudtrail.lookupEvents(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudTrailError);
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(throttled.requests).toHaveLength(3);

    const denied = scriptedHandler([
      {
        status: 400,
        body: '{"__type":"com.amazonaws.cloudtrail#AccessDeniedException","Message":"not authorized"}',
      },
    ]);
    const refused = signedCloudTrail({
      credentials,
      region: 'us-east-1',
      requestHandler: denied,
      sleep: async () => {},
    });
    await expect(refused.lookupEvents(input)).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: 'not authorized',
    });
    expect(denied.requests).toHaveLength(1);
  });

  it('an emulator without LookupEvents (an HTML 500) gives a lookup of undefined, and says why', async () => {
    const handler = scriptedHandler([{ status: 500, body: '<html>NotImplementedError</html>' }]);
    const failures: string[] = [];
    const lookup = keyUsageLookup(
      signedCloudTrail({ credentials, region: 'us-east-1', requestHandler: handler, sleep: async () => {} }),
      pace,
      (id, error) => failures.push(`${id}: ${(error as Error).name}`),
    );
    expect(await lookup('AKIAEXPOSED000000001')).toBeUndefined();
    expect(failures).toEqual(['AKIAEXPOSED000000001: HTTP500']);
  });
});
