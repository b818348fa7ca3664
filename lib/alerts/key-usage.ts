import { DAY_MS } from '../clock.js';
import type { KeyUsage } from './alerts.js';

/** CloudTrail allows LookupEvents 2 requests per second per account and region. */
export const LOOKUPS_PER_SECOND = 2;
/** Pages of 50 events read per key at most (the newest 150 events say who uses it). */
export const MAX_PAGES = 3;
/** Sources listed per key at most, newest first. */
export const MAX_SOURCES = 10;

export interface Pace {
  /** Real milliseconds (CloudTrail's window is real time, whatever `--now` simulates). */
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realPace: Pace = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Spaces calls at least 1/perSecond apart, across every caller that shares it (one per run). */
export function rateLimiter(perSecond: number, pace: Pace): () => Promise<void> {
  const gap = 1000 / perSecond;
  let next = 0;
  return async () => {
    const now = pace.nowMs();
    const at = Math.max(now, next);
    next = at + gap;
    if (at > now) await pace.sleep(at - now);
  };
}

/** One CloudTrail event as LookupEvents gives it. */
export interface TrailEvent {
  EventName?: string;
  EventTime?: Date;
  CloudTrailEvent?: string;
}

/**
 * CloudTrail's LookupEvents by AccessKeyId, one page: the SDK client (lib/aws/cloudtrail.ts: retire,
 * the CLI) or a signed call that keeps the SDK client out of a bundle (lib/aws/cloudtrail-signed.ts:
 * the leak response).
 */
export interface EventLookup {
  lookupEvents(input: {
    accessKeyId: string;
    startTime: Date;
    endTime: Date;
    maxResults: number;
    nextToken?: string;
  }): Promise<{ events: TrailEvent[]; nextToken?: string }>;
}

interface TrailRecord {
  sourceIPAddress?: string;
  userAgent?: string;
}

/** Groups CloudTrail events by source IP and user agent; pure. */
export function summarizeEvents(events: ReadonlyArray<TrailEvent>): KeyUsage[] {
  const bySource = new Map<
    string,
    { sourceIp: string; userAgent: string; names: Set<string>; last: number; events: number }
  >();
  for (const event of events) {
    let record: TrailRecord = {};
    try {
      record = JSON.parse(event.CloudTrailEvent ?? '{}') as TrailRecord;
    } catch {
      // A record CloudTrail could not give whole still counts, under unknown source.
    }
    const sourceIp = record.sourceIPAddress ?? 'unknown';
    const userAgent = record.userAgent ?? 'unknown';
    const id = `${sourceIp}\u0000${userAgent}`;
    const entry = bySource.get(id) ?? { sourceIp, userAgent, names: new Set<string>(), last: 0, events: 0 };
    if (event.EventName) entry.names.add(event.EventName);
    entry.last = Math.max(entry.last, event.EventTime?.getTime() ?? 0);
    entry.events++;
    bySource.set(id, entry);
  }
  return [...bySource.values()]
    .sort((a, b) => b.last - a.last || a.sourceIp.localeCompare(b.sourceIp))
    .slice(0, MAX_SOURCES)
    .map((e) => ({
      sourceIp: e.sourceIp,
      userAgent: e.userAgent.length > 120 ? `${e.userAgent.slice(0, 119)}…` : e.userAgent,
      eventNames: [...e.names].sort(),
      lastSeen: new Date(e.last).toISOString(),
      events: e.events,
    }));
}

/**
 * Who still signs requests with an access key: CloudTrail LookupEvents by AccessKeyId (management
 * events, last 90 days), grouped by source IP and user agent. One lookup per key per run (cached),
 * every request through the shared rate limiter. A failed lookup is undefined: the alert goes out
 * without it.
 */
export function keyUsageLookup(
  cloudtrail: EventLookup,
  pace: Pace = realPace,
  onError: (accessKeyId: string, error: unknown) => void = () => undefined,
): (accessKeyId: string) => Promise<KeyUsage[] | undefined> {
  const limit = rateLimiter(LOOKUPS_PER_SECOND, pace);
  const cache = new Map<string, Promise<KeyUsage[] | undefined>>();
  const lookup = async (accessKeyId: string): Promise<KeyUsage[] | undefined> => {
    const end = new Date(pace.nowMs());
    const start = new Date(end.getTime() - 90 * DAY_MS);
    const events: TrailEvent[] = [];
    let token: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        await limit();
        const out = await cloudtrail.lookupEvents({
          accessKeyId,
          startTime: start,
          endTime: end,
          maxResults: 50,
          ...(token ? { nextToken: token } : {}),
        });
        events.push(...out.events);
        token = out.nextToken;
        if (!token) break;
      }
    } catch (error) {
      onError(accessKeyId, error);
      return undefined;
    }
    return summarizeEvents(events);
  };
  return (accessKeyId) => {
    let found = cache.get(accessKeyId);
    if (found === undefined) {
      found = lookup(accessKeyId);
      cache.set(accessKeyId, found);
    }
    return found;
  };
}
