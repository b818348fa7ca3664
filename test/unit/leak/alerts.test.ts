import { describe, expect, it } from 'vitest';
import { alertText, type KeyUsage } from '../../../lib/alerts/alerts.js';
import { slackMessage } from '../../../lib/alerts/slack.js';
import { leakAlerts, withExposedKeyCalls } from '../../../lib/leak/alerts.js';

const EXPOSED = 'AKIAEXAMPLEOLD0K3Y7Q';
const event = {
  eventId: 'e-1',
  accountId: '123456789012',
  reportedAt: new Date('2026-11-20T06:20:09Z'),
  accessKeyIds: [EXPOSED],
};
const calls: KeyUsage[] = [
  {
    sourceIp: '203.0.113.50',
    userAgent: 'python-requests/2.31',
    eventNames: ['ListBuckets'],
    lastSeen: '2026-11-20T06:40:00.000Z',
    events: 3,
  },
];
const [alert] = leakAlerts(event, [
  {
    accessKeyId: EXPOSED,
    outcome: 'rotated',
    userName: 'ci-deploy',
    newKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
    onboarded: false,
    deactivated: [EXPOSED],
    deleted: [],
    targetsUpdated: ['ci-repo', 'ci-hook'],
  },
]);

describe('the leak alert and CloudTrail', () => {
  it("adds the exposed key's calls to a leak alert, and asks nothing for other alerts", async () => {
    const asked: string[] = [];
    const enrich = withExposedKeyCalls(async (id) => {
      asked.push(id);
      return calls;
    });
    if (alert === undefined) throw new Error('no alert');
    const enriched = await enrich(alert);
    expect(enriched.usage).toEqual(calls);
    const other = { ...alert, kind: 'key-in-use' as const };
    expect(await enrich(other)).toBe(other);
    expect(asked).toEqual([EXPOSED]);
    // Rendered as what the key did, not who still uses it.
    const text = alertText(enriched);
    expect(text).toContain(
      'Calls signed with this key, by source (CloudTrail, last 90 days; an event shows about 5 minutes after its call, so look again later):\n  203.0.113.50 · python-requests/2.31 · ListBuckets · last seen 2026-11-20T06:40:00.000Z (3 events)',
    );
    expect(text).toContain('and ci-repo, ci-hook received it and proved they hold it.');
    expect(JSON.stringify(slackMessage(enriched))).toContain('*What it did* (CloudTrail, last 90 days)');
  });

  it('leaves the alert as it is when CloudTrail could not answer', async () => {
    if (alert === undefined) throw new Error('no alert');
    const enriched = await withExposedKeyCalls(async () => undefined)(alert);
    expect(enriched).toEqual(alert);
    expect(alertText(enriched)).not.toContain('CloudTrail shows');
  });
});
