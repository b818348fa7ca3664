/**
 * Drift, as pure functions: a target whose fingerprint is a key id other than AWSCURRENT's. Where a
 * target's fingerprint is unknown (a webhook) or was not read (the scan and retire functions carry no
 * adapter code), what keyrot recorded it received stands in for it.
 */
import type { Fingerprint } from './port.js';
import type { TargetRecord } from './state.js';

export interface TargetView {
  name: string;
  type: string;
  /** Read live (CLI, rotate function); absent when not read. */
  fingerprint?: Fingerprint | { state: 'error'; message: string };
  record?: TargetRecord;
}

export type TargetStatus =
  | { name: string; type: string; state: 'in-sync'; holds: string; source: 'fingerprint' | 'record' }
  | {
      name: string;
      type: string;
      state: 'drift';
      holds: string | undefined;
      source: 'fingerprint' | 'record';
    }
  | { name: string; type: string; state: 'unknown' | 'disabled' | 'error'; detail: string };

/** The key id a target holds, by its fingerprint, else by the record of what it last received. */
export function heldKey(
  view: TargetView,
): { holds: string | undefined; source: 'fingerprint' | 'record' } | undefined {
  const fp = view.fingerprint;
  if (fp?.state === 'holds') return { holds: fp.accessKeyId, source: 'fingerprint' };
  if (fp?.state === 'absent') return { holds: undefined, source: 'fingerprint' };
  if (view.record?.state === 'received') return { holds: view.record.accessKeyId, source: 'record' };
  return undefined;
}

export function targetStatus(view: TargetView, currentKeyId: string | undefined): TargetStatus {
  const { name, type } = view;
  if (view.record?.state === 'disabled')
    return {
      name,
      type,
      state: 'disabled',
      detail: `disabled on ${view.record.at.toISOString().slice(0, 10)} (the receiver answered 410)`,
    };
  const held = heldKey(view);
  if (held === undefined) {
    const detail =
      view.fingerprint?.state === 'error'
        ? view.fingerprint.message
        : 'the provider does not say which key it holds, and keyrot has not pushed to it';
    return { name, type, state: view.fingerprint?.state === 'error' ? 'error' : 'unknown', detail };
  }
  if (held.holds !== undefined && held.holds === currentKeyId)
    return { name, type, state: 'in-sync', holds: held.holds, source: held.source };
  return { name, type, state: 'drift', holds: held.holds, source: held.source };
}

/** Key id -> the targets that still hold it (by fingerprint, else by record). */
export function targetsHolding(views: readonly TargetView[]): Map<string, string[]> {
  const holding = new Map<string, string[]>();
  for (const view of views) {
    const held = heldKey(view);
    if (held?.holds === undefined || view.record?.state === 'disabled') continue;
    holding.set(held.holds, [...(holding.get(held.holds) ?? []), `${view.type} target "${view.name}"`]);
  }
  return holding;
}

/** One line about a drifting target, with the word drift and what to do. */
export function describeDrift(userName: string, status: TargetStatus & { state: 'drift' }): string {
  const holds = status.holds ? `holds ${status.holds}` : 'holds no key';
  const how = status.source === 'record' ? ' (as keyrot last recorded)' : '';
  return `drift: ${status.type} target "${status.name}" of ${userName} ${holds}${how}, not AWSCURRENT's key; rotate (keyrot rotate --user ${userName}) or roll back to push the current key again`;
}

/** Views from records only, for the configured targets (records of removed targets are ignored). */
export function recordedViews(
  specs: ReadonlyArray<{ type: string; name: string }>,
  records: ReadonlyMap<string, TargetRecord>,
): TargetView[] {
  return specs.map((spec) => {
    const record = records.get(spec.name);
    return { name: spec.name, type: spec.type, ...(record ? { record } : {}) };
  });
}

/**
 * Drift the scan can see without adapter code: a configured target whose recorded version is not the
 * AWSCURRENT version (a rollback or a rotation that did not reach it), or that never received a key.
 * A target that received the AWSPENDING version is ahead, not adrift: a rotation is under way (and
 * alerts of its own if it fails). A secret without a current version has no key a target should hold.
 */
export function recordedDrift(
  userName: string,
  specs: ReadonlyArray<{ type: string; name: string }>,
  records: ReadonlyMap<string, TargetRecord>,
  currentVersionId: string | undefined,
  pendingVersionId?: string,
): Array<{ userName: string; target: string; type: string; lastReceived: string | null }> {
  // No current version (a first rotation under way, or a broken user): no key a target should hold.
  if (currentVersionId === undefined) return [];
  return specs.flatMap(({ name, type }) => {
    const record = records.get(name);
    if (
      record?.state === 'disabled' ||
      (record?.state === 'received' &&
        (record.versionId === currentVersionId || record.versionId === pendingVersionId))
    )
      return [];
    return [
      {
        userName,
        target: name,
        type,
        lastReceived: record?.state === 'received' ? record.accessKeyId : null,
      },
    ];
  });
}
