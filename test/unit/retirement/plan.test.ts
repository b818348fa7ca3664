import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { planRetirement, type RetireKey, type RetireState } from '../../../lib/retirement/plan.js';

const CUTOVER = new Date('2026-06-01T00:00:00Z');
const at = (days: number) => new Date(CUTOVER.getTime() + days * 86_400_000);
// deactivate 7, idle 3, escalate 14, delete 7: short idle windows keep the day arithmetic readable.
const policy = { ...defaultConfig.policy, idleDaysBeforeDeactivate: 3 };
const key = (accessKeyId: string, overrides: Partial<RetireKey> = {}): RetireKey => ({
  accessKeyId,
  status: 'Active',
  createdAt: at(-100),
  ...overrides,
});
const state = (keys: RetireKey[], overrides: Partial<RetireState> = {}): RetireState => ({
  userName: 'ci',
  keys,
  currentKeyId: 'CUR',
  cutoverAt: CUTOVER,
  deactivatedAt: {},
  inactiveSeenAt: {},
  ...overrides,
});
const decide = (s: RetireState, day: number) => planRetirement(s, policy, at(day));
const kinds = (s: RetireState, day: number) => decide(s, day).map((d) => `${d.accessKeyId}:${d.kind}`);

describe('planRetirement', () => {
  it('never touches the AWSCURRENT and AWSPENDING keys', () => {
    const s = state([key('CUR', { lastUsedAt: at(-50) }), key('PEND', { lastUsedAt: at(-50) })], {
      pendingKeyId: 'PEND',
    });
    expect(decide(s, 400)).toEqual([
      { accessKeyId: 'CUR', role: 'current', kind: 'keep', reason: 'held by AWSCURRENT' },
      { accessKeyId: 'PEND', role: 'pending', kind: 'keep', reason: 'held by AWSPENDING' },
    ]);
  });

  it('waits deactivateAfterDays after the cut-over, then deactivates an idle replaced key', () => {
    const s = state([key('CUR'), key('OLD', { lastUsedAt: at(-1) })], { previousKeyId: 'OLD' });
    expect(decide(s, 6)[1]).toMatchObject({
      kind: 'wait',
      role: 'previous',
      reason: 'replaced on 2026-06-01; deactivation due 2026-06-08 if idle',
      deactivateOn: at(7),
    });
    expect(decide(s, 7)[1]).toMatchObject({
      kind: 'deactivate',
      reason: 'replaced on 2026-06-01 (7 days ago) and idle (last used 2026-05-31)',
      deleteOn: at(14),
    });
  });

  it('holds a key still in use, however long after the cut-over, and escalates after escalateAfterDays', () => {
    const s = (lastUsed: number) => state([key('CUR'), key('OLD', { lastUsedAt: at(lastUsed) })]);
    expect(decide(s(2), 3)[1]).toMatchObject({
      kind: 'hold',
      role: 'pre-keyrot',
      reason: expect.stringMatching(
        /^still in use: last used 2026-06-03 \(1 days ago\), 3 days after the cut-over/,
      ),
    });
    expect(decide(s(8), 10)[1]).toMatchObject({
      kind: 'hold',
      reason:
        'still in use: last used 2026-06-09 (2 days ago), 10 days after the cut-over; it is deactivated once idle for 3 days',
    });
    expect(decide(s(8), 10)[1]?.escalate).toBeUndefined();
    expect(decide(s(13), 14)[1]).toMatchObject({
      kind: 'hold',
      escalate: true,
      reason: expect.stringContaining('(escalated: still in use after escalateAfterDays)'),
    });
    // Idle for exactly idleDaysBeforeDeactivate: deactivated.
    expect(decide(s(5), 8)[1]?.kind).toBe('deactivate');
  });

  it('by default holds the key of a consumer that runs weekly (idleDaysBeforeDeactivate 10)', () => {
    // Prepare: a job that signs with the old key once a week, last on day 7 after the cut-over.
    const s = state([key('CUR'), key('OLD', { lastUsedAt: at(7) })], { previousKeyId: 'OLD' });
    // Act: the daily runs up to the week after
    const byDay = [8, 14, 16, 17].map((day) => planRetirement(s, defaultConfig.policy, at(day))[1]?.kind);
    // Assess: held all week (and the job's next run would renew that); deactivated once idle 10 days
    expect(defaultConfig.policy.idleDaysBeforeDeactivate).toBe(10);
    expect(byDay).toEqual(['hold', 'hold', 'hold', 'deactivate']);
  });

  it('holds a replaced key while a target still holds it, naming the target, whatever its use', () => {
    const s = state([key('CUR'), key('OLD')], {
      previousKeyId: 'OLD',
      heldByTargets: { OLD: ['github-actions target "ci-repo"'], CUR: ['webhook target "hook"'] },
    });
    expect(decide(s, 30)[1]).toEqual({
      accessKeyId: 'OLD',
      role: 'previous',
      kind: 'hold',
      reason:
        'still held by github-actions target "ci-repo"; push the current key there (keyrot rotate --user ci)',
      deactivateOn: at(7),
    });
    expect(
      decide({ ...s, heldByTargets: { OLD: ['gitlab target "a"', 'ssm target "b"'] } }, 30)[1]?.reason,
    ).toBe(
      'still held by gitlab target "a", ssm target "b"; push the current key there (keyrot rotate --user ci)',
    );
    // Once no target holds it, the usual rules apply.
    expect(decide({ ...s, heldByTargets: { OLD: [] } }, 30)[1]).toMatchObject({ kind: 'deactivate' });
  });

  it('deactivates a never-used replaced key once due', () => {
    const s = state([key('CUR'), key('OLD')]);
    expect(decide(s, 7)[1]).toMatchObject({
      kind: 'deactivate',
      reason: expect.stringContaining('(never used)'),
    });
  });

  it("never deactivates a user's only active key, nor before the rotation's cut-over is recorded", () => {
    expect(
      kinds(state([key('CUR', { status: 'Inactive' }), key('OLD')], { deactivatedAt: { CUR: at(0) } }), 30),
    ).toEqual(['CUR:keep', 'OLD:keep']);
    expect(decide(state([key('CUR', { status: 'Inactive' }), key('OLD')]), 30)[1]?.reason).toBe(
      "the user's only active key",
    );
    expect(decide(state([key('CUR'), key('OLD')], { cutoverAt: undefined }), 30)[1]).toMatchObject({
      kind: 'keep',
      reason: 'no cut-over recorded yet: the rotation that replaces it has not finished',
    });
  });

  it('deletes a key deleteAfterDays after keyrot deactivated it', () => {
    const s = state([key('CUR'), key('OLD', { status: 'Inactive' })], { deactivatedAt: { OLD: at(8) } });
    expect(decide(s, 14)[1]).toMatchObject({
      kind: 'wait',
      reason: 'inactive since 2026-06-09; deletion due 2026-06-16',
      deleteOn: at(15),
    });
    expect(decide(s, 15)[1]).toMatchObject({
      kind: 'delete',
      reason: 'inactive since 2026-06-09 (7 days; deleteAfterDays 7)',
      deleteOn: at(15),
    });
  });

  it('counts a key someone else deactivated from when keyrot first saw it inactive', () => {
    const unseen = state([key('CUR'), key('OLD', { status: 'Inactive' })]);
    expect(decide(unseen, 30)[1]).toEqual({
      accessKeyId: 'OLD',
      role: 'pre-keyrot',
      kind: 'record-inactive',
      reason: 'inactive, but not by keyrot: its 7 days before deletion start now',
      deleteOn: at(37),
    });
    const seen = state([key('CUR'), key('OLD', { status: 'Inactive' })], { inactiveSeenAt: { OLD: at(30) } });
    expect(kinds(seen, 36)).toEqual(['CUR:keep', 'OLD:wait']);
    expect(kinds(seen, 37)).toEqual(['CUR:keep', 'OLD:delete']);
  });

  it('forgets the records of keys that no longer exist', () => {
    const s = state([key('CUR')], {
      deactivatedAt: { GONE: at(1) },
      inactiveSeenAt: { GONE: at(1), ALSO: at(2) },
    });
    expect(decide(s, 20).slice(1)).toEqual([
      { accessKeyId: 'GONE', role: 'gone', kind: 'forget', reason: 'the key no longer exists' },
      { accessKeyId: 'ALSO', role: 'gone', kind: 'forget', reason: 'the key no longer exists' },
    ]);
  });
});
