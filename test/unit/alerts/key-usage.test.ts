import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyUsageLookup, type Pace, rateLimiter, summarizeEvents } from '../../../lib/alerts/key-usage.js';
import { cloudTrailLookup } from '../../../lib/aws/cloudtrail.js';

const cloudtrail = mockClient(CloudTrailClient);
beforeEach(() => cloudtrail.reset());

/** A pace on a fake clock: sleeping moves time, and every call's time is recorded. */
function fakePace(start = Date.parse('2026-06-01T12:00:00Z')) {
  let now = start;
  const slept: number[] = [];
  const pace: Pace = {
    nowMs: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
  return { pace, slept, now: () => now };
}

const event = (name: string, time: string, ip: string, agent: string) => ({
  EventName: name,
  EventTime: new Date(time),
  CloudTrailEvent: JSON.stringify({ sourceIPAddress: ip, userAgent: agent, eventName: name }),
});

describe('CloudTrail: who still uses a held key', () => {
  it('asks LookupEvents by AccessKeyId for the last 90 days and groups the events by source IP and user agent', async () => {
    // Prepare
    const { pace } = fakePace();
    cloudtrail.on(LookupEventsCommand).resolves({
      Events: [
        event('ListBuckets', '2026-05-31T10:00:00Z', '203.0.113.7', 'aws-cli/2.15.0'),
        event('GetCallerIdentity', '2026-05-30T10:00:00Z', '203.0.113.7', 'aws-cli/2.15.0'),
        event('PutObject', '2026-05-20T08:00:00Z', '198.51.100.2', 'Boto3/1.34.0'),
        { EventName: 'Odd', EventTime: new Date('2026-05-01T00:00:00Z'), CloudTrailEvent: 'not json' },
      ],
    });
    // Act
    const usage = await keyUsageLookup(
      cloudTrailLookup(new CloudTrailClient({})),
      pace,
    )('AKIAEXAMPLEOLD0K3Y7Q');
    // Assess
    expect(cloudtrail).toHaveReceivedCommandWith(LookupEventsCommand, {
      LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: 'AKIAEXAMPLEOLD0K3Y7Q' }],
      StartTime: new Date('2026-03-03T12:00:00Z'),
      EndTime: new Date('2026-06-01T12:00:00Z'),
      MaxResults: 50,
    });
    expect(usage).toEqual([
      {
        sourceIp: '203.0.113.7',
        userAgent: 'aws-cli/2.15.0',
        eventNames: ['GetCallerIdentity', 'ListBuckets'],
        lastSeen: '2026-05-31T10:00:00.000Z',
        events: 2,
      },
      {
        sourceIp: '198.51.100.2',
        userAgent: 'Boto3/1.34.0',
        eventNames: ['PutObject'],
        lastSeen: '2026-05-20T08:00:00.000Z',
        events: 1,
      },
      {
        sourceIp: 'unknown',
        userAgent: 'unknown',
        eventNames: ['Odd'],
        lastSeen: '2026-05-01T00:00:00.000Z',
        events: 1,
      },
    ]);
  });

  it('looks each key up once per run, follows at most 3 pages, and keeps to 2 requests a second', async () => {
    const { pace, slept } = fakePace();
    const times: number[] = [];
    cloudtrail.on(LookupEventsCommand).callsFake(() => {
      times.push(pace.nowMs());
      return {
        Events: [event('ListBuckets', '2026-05-31T10:00:00Z', '203.0.113.7', 'a')],
        NextToken: 'more',
      };
    });
    const lookup = keyUsageLookup(cloudTrailLookup(new CloudTrailClient({})), pace);
    const [a, again] = await Promise.all([lookup('AKIAKEYA'), lookup('AKIAKEYA')]);
    const b = await lookup('AKIAKEYB');
    expect(again).toBe(a);
    expect(await lookup('AKIAKEYA')).toBe(a);
    expect(a?.[0]?.events).toBe(3);
    expect(b?.[0]?.events).toBe(3);
    // 3 pages per key, 2 keys: 6 requests, each at least 500 ms after the one before.
    expect(times).toHaveLength(6);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps.every((g) => g >= 500)).toBe(true);
    expect(slept.length).toBeGreaterThanOrEqual(5);
    expect(cloudtrail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      'more',
      'more',
      undefined,
      'more',
      'more',
    ]);
  });

  it('gives undefined (the alert goes out without it) when CloudTrail refuses, and says why', async () => {
    const { pace } = fakePace();
    cloudtrail
      .on(LookupEventsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const failures: string[] = [];
    const lookup = keyUsageLookup(
      cloudTrailLookup(new CloudTrailClient({ maxAttempts: 1 })),
      pace,
      (id, error) => failures.push(`${id}: ${(error as Error).name}`),
    );
    expect(await lookup('AKIAKEYA')).toBeUndefined();
    expect(failures).toEqual(['AKIAKEYA: ThrottlingException']);
  });

  it('the limiter spaces calls 1/rate apart and does not wait when there is room', async () => {
    const { pace, slept } = fakePace();
    const limit = rateLimiter(2, pace);
    await limit();
    await limit();
    await limit();
    expect(slept).toEqual([500, 500]);
    expect(summarizeEvents([])).toEqual([]);
  });
});
