import { describe, expect, it } from 'vitest';
import { recordedDrift, targetStatus, targetsHolding } from '../../../lib/targets/drift.js';
import { readTargetRecords, type TargetRecord } from '../../../lib/targets/state.js';

const at = new Date('2026-06-01T00:00:00Z');
const received = (name: string, accessKeyId: string, versionId = 'v2'): TargetRecord => ({
  name,
  state: 'received',
  accessKeyId,
  versionId,
  at,
});

describe('per-target state on the secret', () => {
  it('reads the records from tags, ignoring other tags and malformed values', () => {
    const records = readTargetRecords({
      'keyrot:user': 'ci',
      'keyrot:target:gh': `AKIANEW v2 ${at.toISOString()}`,
      'keyrot:target:hook': `disabled - ${at.toISOString()}`,
      'keyrot:target:bad': 'AKIA only',
    });
    expect([...records.values()]).toEqual([
      received('gh', 'AKIANEW'),
      { name: 'hook', state: 'disabled', at },
    ]);
  });
});

describe('drift', () => {
  it('is a fingerprint other than the current key; a record stands in where the provider cannot tell', () => {
    expect(
      targetStatus(
        { name: 'gh', type: 'github-actions', fingerprint: { state: 'holds', accessKeyId: 'OLD' } },
        'NEW',
      ),
    ).toEqual({
      name: 'gh',
      type: 'github-actions',
      state: 'drift',
      holds: 'OLD',
      source: 'fingerprint',
    });
    expect(
      targetStatus(
        { name: 'h', type: 'webhook', fingerprint: { state: 'unknown' }, record: received('h', 'NEW') },
        'NEW',
      ),
    ).toMatchObject({ state: 'in-sync', source: 'record' });
    expect(
      targetStatus({ name: 'g', type: 'gitlab', fingerprint: { state: 'absent' } }, 'NEW'),
    ).toMatchObject({
      state: 'drift',
      holds: undefined,
    });
    expect(
      targetStatus({ name: 'h', type: 'webhook', fingerprint: { state: 'unknown' } }, 'NEW'),
    ).toMatchObject({
      state: 'unknown',
    });
  });

  it('names the targets that still hold each key, skipping disabled ones', () => {
    const holding = targetsHolding([
      { name: 'gh', type: 'github-actions', fingerprint: { state: 'holds', accessKeyId: 'OLD' } },
      { name: 'h', type: 'webhook', record: received('h', 'OLD') },
      { name: 'off', type: 'webhook', record: { name: 'off', state: 'disabled', at } },
    ]);
    expect(Object.fromEntries(holding)).toEqual({
      OLD: ['github-actions target "gh"', 'webhook target "h"'],
    });
  });

  it('in the scan, comes from records: a target whose record is not the current version, or that has none', () => {
    const records = new Map([
      ['gh', received('gh', 'NEW', 'v2')],
      ['hook', received('hook', 'OLD', 'v1')],
    ]);
    const specs = [
      { name: 'gh', type: 'github-actions' },
      { name: 'hook', type: 'webhook' },
      { name: 'added-later', type: 'gitlab' },
    ];
    expect(recordedDrift('ci', specs, records, 'v2')).toEqual([
      { userName: 'ci', target: 'hook', type: 'webhook', lastReceived: 'OLD' },
      { userName: 'ci', target: 'added-later', type: 'gitlab', lastReceived: null },
    ]);
  });

  it('in the scan, leaves out a target that received the pending version: a rotation is under way', () => {
    const records = new Map([
      ['gh', received('gh', 'PENDING', 'v3')],
      ['hook', received('hook', 'OLD', 'v1')],
    ]);
    const specs = [
      { name: 'gh', type: 'github-actions' },
      { name: 'hook', type: 'webhook' },
    ];
    expect(recordedDrift('ci', specs, records, 'v2', 'v3')).toEqual([
      { userName: 'ci', target: 'hook', type: 'webhook', lastReceived: 'OLD' },
    ]);
    // The first rotation, under way: nothing is current yet, so nothing is adrift.
    expect(recordedDrift('ci', specs, new Map(), undefined, 'v1')).toEqual([]);
  });
});
