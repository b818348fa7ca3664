import { DAY_MS, wholeDaysBetween } from '../clock.js';
import type { PolicySettings } from '../config.js';

/** A key of a managed machine user, with its exact last use (GetAccessKeyLastUsed). */
export interface RetireKey {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createdAt: Date;
  lastUsedAt?: Date;
}

/** Everything retirement decides from, for one machine user. */
export interface RetireState {
  userName: string;
  keys: RetireKey[];
  /** Key ids stored in the secret's AWSCURRENT, AWSPENDING and AWSPREVIOUS versions. */
  currentKeyId?: string;
  pendingKeyId?: string;
  previousKeyId?: string;
  /** When the current version became current (the cut-over keyrot recorded). */
  cutoverAt?: Date;
  /** When keyrot deactivated a key (IAM does not record it), by key id. */
  deactivatedAt: Record<string, Date>;
  /** When keyrot first saw a key inactive that someone else deactivated, by key id. */
  inactiveSeenAt: Record<string, Date>;
  /** Key id -> the targets that still hold it (by fingerprint, else by what keyrot recorded). */
  heldByTargets?: Record<string, string[]>;
}

export type RetireKind = 'keep' | 'wait' | 'hold' | 'deactivate' | 'record-inactive' | 'delete' | 'forget';

export interface RetireDecision {
  accessKeyId: string;
  role: 'current' | 'pending' | 'previous' | 'pre-keyrot' | 'gone';
  kind: RetireKind;
  reason: string;
  /** A replaced key still in use `escalateAfterDays` after the cut-over. */
  escalate?: boolean;
  deactivateOn?: Date;
  deleteOn?: Date;
}

export type RetirePolicy = Pick<
  PolicySettings,
  'deactivateAfterDays' | 'idleDaysBeforeDeactivate' | 'escalateAfterDays' | 'deleteAfterDays'
>;

const day = (d: Date) => d.toISOString().slice(0, 10);
const plus = (d: Date, days: number) => new Date(d.getTime() + days * DAY_MS);

/**
 * Retirement, as a pure function. Every key held by neither AWSCURRENT nor AWSPENDING (the AWSPREVIOUS
 * key, and keys from before keyrot) is retired in two stages:
 * - deactivated once `deactivateAfterDays` have passed since the cut-over AND it has not been used for
 *   `idleDaysBeforeDeactivate`; a key still in use is held (and escalated after `escalateAfterDays`);
 * - deleted once it has been inactive for `deleteAfterDays`, counted from when keyrot deactivated it
 *   or, for a key someone else deactivated, from when keyrot first saw it inactive.
 * Never touched: AWSCURRENT's and AWSPENDING's keys, and a user's only active key.
 */
export function planRetirement(state: RetireState, policy: RetirePolicy, now: Date): RetireDecision[] {
  const decisions: RetireDecision[] = [];
  const active = state.keys.filter((k) => k.status === 'Active');
  for (const key of state.keys) {
    const id = key.accessKeyId;
    if (id === state.currentKeyId || id === state.pendingKeyId) {
      const role = id === state.currentKeyId ? 'current' : 'pending';
      decisions.push({
        accessKeyId: id,
        role,
        kind: 'keep',
        reason: `held by ${role === 'current' ? 'AWSCURRENT' : 'AWSPENDING'}`,
      });
      continue;
    }
    const role = id === state.previousKeyId ? 'previous' : 'pre-keyrot';
    const decide = (kind: RetireKind, reason: string, extra: Partial<RetireDecision> = {}) =>
      decisions.push({ accessKeyId: id, role, kind, reason, ...extra });

    if (key.status === 'Inactive') {
      const since = state.deactivatedAt[id] ?? state.inactiveSeenAt[id];
      if (since === undefined) {
        decide(
          'record-inactive',
          `inactive, but not by keyrot: its ${policy.deleteAfterDays} days before deletion start now`,
          {
            deleteOn: plus(now, policy.deleteAfterDays),
          },
        );
        continue;
      }
      const deleteOn = plus(since, policy.deleteAfterDays);
      if (now.getTime() >= deleteOn.getTime()) {
        decide(
          'delete',
          `inactive since ${day(since)} (${wholeDaysBetween(since, now)} days; deleteAfterDays ${policy.deleteAfterDays})`,
          { deleteOn },
        );
      } else {
        decide('wait', `inactive since ${day(since)}; deletion due ${day(deleteOn)}`, { deleteOn });
      }
      continue;
    }

    if (!active.some((other) => other.accessKeyId !== id)) {
      decide('keep', "the user's only active key");
      continue;
    }
    if (state.cutoverAt === undefined) {
      decide('keep', 'no cut-over recorded yet: the rotation that replaces it has not finished');
      continue;
    }
    const deactivateOn = plus(state.cutoverAt, policy.deactivateAfterDays);
    const targets = state.heldByTargets?.[id] ?? [];
    if (targets.length > 0) {
      decide(
        'hold',
        `still held by ${targets.join(', ')}; push the current key there (keyrot rotate --user ${state.userName})`,
        { deactivateOn },
      );
      continue;
    }
    const idle = key.lastUsedAt === undefined ? undefined : wholeDaysBetween(key.lastUsedAt, now);
    const sinceCutover = wholeDaysBetween(state.cutoverAt, now);
    if (idle !== undefined && idle < policy.idleDaysBeforeDeactivate) {
      const escalate = sinceCutover >= policy.escalateAfterDays;
      decide(
        'hold',
        `still in use: last used ${day(key.lastUsedAt as Date)} (${idle} days ago), ${sinceCutover} days after the cut-over; it is deactivated once idle for ${policy.idleDaysBeforeDeactivate} days${escalate ? ' (escalated: still in use after escalateAfterDays)' : ''}`,
        { deactivateOn, ...(escalate ? { escalate } : {}) },
      );
    } else if (now.getTime() < deactivateOn.getTime()) {
      decide('wait', `replaced on ${day(state.cutoverAt)}; deactivation due ${day(deactivateOn)} if idle`, {
        deactivateOn,
      });
    } else {
      const used = key.lastUsedAt === undefined ? 'never used' : `last used ${day(key.lastUsedAt)}`;
      decide(
        'deactivate',
        `replaced on ${day(state.cutoverAt)} (${sinceCutover} days ago) and idle (${used})`,
        {
          deactivateOn,
          deleteOn: plus(now, policy.deleteAfterDays),
        },
      );
    }
  }
  // Lifecycle records of keys that no longer exist are dropped.
  const existing = new Set(state.keys.map((k) => k.accessKeyId));
  for (const id of new Set([...Object.keys(state.deactivatedAt), ...Object.keys(state.inactiveSeenAt)])) {
    if (!existing.has(id))
      decisions.push({ accessKeyId: id, role: 'gone', kind: 'forget', reason: 'the key no longer exists' });
  }
  return decisions;
}
