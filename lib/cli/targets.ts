import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { rotationDeps } from '../rotation/deps.js';
import { type TargetStatus, type TargetView, targetStatus } from '../targets/drift.js';
import { readFingerprints } from '../targets/run.js';
import type { TargetRecord } from '../targets/state.js';

/**
 * The CLI reads targets' live fingerprints (it has the adapters; the scan and retire functions use
 * the records instead). One read per user per run: status and retirement share it.
 */
export function liveTargetViews(clients: AwsClients, clock: Clock, config: Config) {
  const deps = rotationDeps(clients, clock, config);
  const cache = new Map<string, Promise<TargetView[]>>();
  return (userName: string, records: ReadonlyMap<string, TargetRecord>): Promise<TargetView[]> => {
    let views = cache.get(userName);
    if (views === undefined) {
      views = readFingerprints(
        deps.targetsFor(userName),
        userName,
        records,
        config.rotation.targetConcurrency,
      );
      cache.set(userName, views);
    }
    return views;
  };
}

/** A target's row in `keyrot status`: what it holds and whether that is drift. */
export function statusRow(userName: string, status: TargetStatus): string[] {
  const holds = 'holds' in status ? (status.holds ?? '(nothing)') : '-';
  const note =
    status.state === 'drift'
      ? `drift: holds ${status.holds ?? 'no key'}${status.source === 'record' ? ' (as recorded)' : ''}, not AWSCURRENT's key; keyrot rotate --user ${userName} pushes the current key`
      : status.state === 'in-sync'
        ? `holds AWSCURRENT's key${status.source === 'record' ? ' (as recorded; the provider does not say)' : ''}`
        : status.detail;
  return [userName, status.name, status.type, holds, status.state, note];
}

export { targetStatus };
