import * as z from 'zod/mini';
import { UsageError } from '../errors.js';

/**
 * The AWS Health event AWS publishes when it finds an access key exposed in public (a commit, a
 * paste). Documented shape: source "aws.health", detail-type "AWS Health Event", detail.service
 * "RISK", detail.eventTypeCode "AWS_RISK_CREDENTIALS_EXPOSED", and the key id in
 * detail.affectedEntities[].entityValue. Delivered in us-east-1 for this global service.
 */
export const EXPOSED_EVENT_PATTERN = {
  source: ['aws.health'],
  'detail-type': ['AWS Health Event'],
  detail: { service: ['RISK'], eventTypeCode: ['AWS_RISK_CREDENTIALS_EXPOSED'] },
} as const;

const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

const eventSchema = z.object({
  id: z.optional(z.string()),
  account: z.string().check(z.regex(/^\d{12}$/)),
  time: z.optional(z.string()),
  source: z.literal('aws.health'),
  'detail-type': z.literal('AWS Health Event'),
  detail: z.object({
    service: z.literal('RISK'),
    eventTypeCode: z.literal('AWS_RISK_CREDENTIALS_EXPOSED'),
    startTime: z.optional(z.string()),
    affectedEntities: z
      .array(z.object({ entityValue: z.string() }))
      .check(z.minLength(1, { error: 'names no affected entity' })),
  }),
});

export interface ExposedKeysEvent {
  eventId: string;
  accountId: string;
  /** When AWS reported the exposure. */
  reportedAt?: Date;
  accessKeyIds: string[];
}

/** A Health event that is not the exposed-credentials event keyrot answers, or is malformed. */
export class LeakEventError extends UsageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeakEventError';
  }
}

/** Parses an exposed-credentials Health event; anything else is a LeakEventError naming the field. */
export function parseExposedKeysEvent(raw: unknown): ExposedKeysEvent {
  const parsed = z.safeParse(eventSchema, raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
    throw new LeakEventError(
      `Not an AWS Health exposed-credentials event (${problems.join('; ')}). keyrot answers source aws.health, detail-type "AWS Health Event", service RISK, eventTypeCode AWS_RISK_CREDENTIALS_EXPOSED. Nothing was changed.`,
    );
  }
  const event = parsed.data;
  const ids = [...new Set(event.detail.affectedEntities.map((e) => e.entityValue.trim()))];
  const bad = ids.filter((id) => !ACCESS_KEY_ID.test(id));
  if (bad.length > 0) {
    throw new LeakEventError(
      `The event's affected entities ${bad.map((b) => JSON.stringify(b)).join(', ')} are not access key ids. Nothing was changed.`,
    );
  }
  const when = event.detail.startTime ?? event.time;
  const reportedAt = when ? new Date(when) : undefined;
  return {
    eventId: event.id ?? 'unknown',
    accountId: event.account,
    ...(reportedAt && !Number.isNaN(reportedAt.getTime()) ? { reportedAt } : {}),
    accessKeyIds: ids,
  };
}

/**
 * EventBridge pattern matching for the subset this pattern uses: every key of the pattern must be in
 * the event; an array matches when the event's value equals one of its items; an object recurses.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(event) ? event : [event];
    return values.some((v) => pattern.some((p) => p === v));
  }
  if (pattern === null || typeof pattern !== 'object') return pattern === event;
  if (event === null || typeof event !== 'object') return false;
  return Object.entries(pattern).every(([key, sub]) =>
    matchesPattern(sub, (event as Record<string, unknown>)[key]),
  );
}
