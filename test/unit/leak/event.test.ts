import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EXPOSED_EVENT_PATTERN,
  LeakEventError,
  matchesPattern,
  parseExposedKeysEvent,
} from '../../../lib/leak/event.js';

/** AWS's documented sample of the exposed-credentials Health event. */
const sample = JSON.parse(
  readFileSync(new URL('../../fixtures/health-exposed-event.json', import.meta.url), 'utf8'),
) as Record<string, unknown> & { detail: Record<string, unknown> };
const withDetail = (detail: Record<string, unknown>) => ({
  ...sample,
  detail: { ...sample.detail, ...detail },
});

describe('the exposed-credentials Health event', () => {
  it('gives the account, the key ids and when AWS reported it', () => {
    expect(parseExposedKeysEvent(sample)).toEqual({
      eventId: '121345678-1234-1234-1234-123456789012',
      accountId: '123456789012',
      reportedAt: new Date('2026-11-20T06:20:09Z'),
      accessKeyIds: ['AKIAIOSFODNN7EXAMPLE'],
    });
  });

  it.each([
    [
      'another Health event',
      withDetail({ eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', service: 'EC2' }),
      /eventTypeCode/,
    ],
    ['no affected entity', withDetail({ affectedEntities: [] }), /names no affected entity/],
    [
      'an entity that is not a key id',
      withDetail({ affectedEntities: [{ entityValue: 'i-0123456789' }] }),
      /not access key ids/,
    ],
    ['another source', { ...sample, source: 'aws.ec2' }, /source/],
    ['no account', { ...sample, account: undefined }, /account/],
    ['nothing at all', null, /Not an AWS Health exposed-credentials event/],
  ])('refuses %s, naming what is wrong', (_what, event, message) => {
    expect(() => parseExposedKeysEvent(event)).toThrow(message);
    expect(() => parseExposedKeysEvent(event)).toThrow(LeakEventError);
  });

  it('is matched by the rule pattern, and other Health events are not', () => {
    expect(matchesPattern(EXPOSED_EVENT_PATTERN, sample)).toBe(true);
    expect(
      matchesPattern(EXPOSED_EVENT_PATTERN, withDetail({ eventTypeCode: 'AWS_RISK_IAM_QUARANTINE' })),
    ).toBe(false);
    expect(matchesPattern(EXPOSED_EVENT_PATTERN, withDetail({ service: 'EC2' }))).toBe(false);
    expect(
      matchesPattern(EXPOSED_EVENT_PATTERN, { ...sample, 'detail-type': 'AWS API Call via CloudTrail' }),
    ).toBe(false);
    expect(matchesPattern(EXPOSED_EVENT_PATTERN, { ...sample, detail: undefined })).toBe(false);
  });
});
