import { describe, expect, it } from 'vitest';
import { isMachineUser, keyLabel, plan } from '../../../lib/policy/plan.js';
import { daysAgo, inventory, key, NOW, policy, user } from '../../helpers/builders.js';

const planFor = (...users: Parameters<typeof user>[0][]) =>
  plan(inventory(users.map((u) => user(u))), policy, NOW);
const codes = (p: ReturnType<typeof plan>) => p.findings.map((f) => `${f.userName}:${f.code}`);

describe('plan', () => {
  it('gives each finding its severity and its exact detail', () => {
    const result = planFor(
      { userName: 'idle', keys: [key({ lastUsedAt: daysAgo(45) })] },
      {
        userName: 'two',
        keys: [key(), key({ accessKeyId: 'AKIAEXAMPLE000000002', createdAt: daysAgo(5) })],
      },
      {
        userName: 'off',
        keys: [
          key(),
          key({ accessKeyId: 'AKIAEXAMPLE000000002', status: 'Inactive', lastUsedAt: daysAgo(7) }),
        ],
      },
      {
        userName: 'open',
        tags: { owner: ' ' },
        hasConsolePassword: true,
        policies: [
          { name: 'PowerUserAccess', kind: 'aws-managed', via: 'user' },
          { name: 'AWSOrganizationsFullAccess', kind: 'aws-managed', via: 'group ops' },
          { name: 'MyAWSCompromisedKeyQuarantine', kind: 'customer-managed', via: 'user' },
        ],
      },
      {
        userName: 'leaked',
        policies: [
          { name: 'AWSCompromisedKeyQuarantineV2', kind: 'aws-managed', via: 'user' },
          { name: 'AWSCompromisedKeyQuarantineV3', kind: 'aws-managed', via: 'user' },
        ],
      },
      { userName: 'a,b' },
    );
    expect(result.findings.map((f) => [f.userName, f.code, f.severity])).toEqual([
      ['idle', 'unused-key', 'medium'],
      ['two', 'two-active-keys', 'medium'],
      ['off', 'inactive-key-past-retention', 'low'],
      ['open', 'console-password', 'high'],
      ['open', 'admin-policy', 'high'],
      ['open', 'missing-owner', 'medium'],
      ['leaked', 'quarantine-policy', 'high'],
      ['a,b', 'unmanageable-name', 'medium'],
    ]);
    const detail = (userName: string, code: string) =>
      result.findings.find((f) => f.userName === userName && f.code === code)?.detail;
    expect(detail('two', 'two-active-keys')).toBe('both key slots hold active keys');
    expect(detail('open', 'console-password')).toBe(
      'a machine user can sign in to the console; delete its login profile',
    );
    expect(detail('open', 'admin-policy')).toBe(
      'overpowered machine user: admin-level policies PowerUserAccess, AWSOrganizationsFullAccess (via group ops)',
    );
    expect(detail('open', 'missing-owner')).toBe('no "owner" tag names who owns this user');
    expect(detail('leaked', 'quarantine-policy')).toMatch(
      /^AWS quarantined this user \(AWSCompromisedKeyQuarantineV2, AWSCompromisedKeyQuarantineV3\) after/,
    );
  });

  it('reads the cut-over of users keyrot manages, and plans users it does not manage as well', () => {
    const result = plan(
      inventory([user({ userName: 'new' })], { managed: { other: { cutoverAt: daysAgo(1) } } }),
      policy,
      NOW,
    );
    expect(result.users.map((u) => u.userName)).toEqual(['new']);
    expect(result.findings).toEqual([]);
  });

  it('plans nothing for a machine user with one fresh, recently used key and an owner', () => {
    // Act
    const result = planFor({});
    // Assess
    expect(result.findings).toEqual([]);
    expect(result.actions).toEqual([]);
    expect(result.users[0]?.keys[0]).toMatchObject({
      ageDays: 10,
      idleDays: 1,
      action: 'none',
      findings: [],
    });
    expect(result).toMatchObject({
      accountId: '123456789012',
      strategy: 'exact',
      machinePath: '/machine/',
      now: NOW,
    });
  });

  it('rotates an active key older than maxKeyAgeDays, with the age in the reason', () => {
    const result = planFor({ keys: [key({ createdAt: daysAgo(91), lastUsedService: 's3' })] });
    expect(result.actions).toEqual([
      {
        kind: 'rotate',
        userName: 'ci-deploy',
        key: { accessKeyId: 'AKIAEXAMPLE000000001' },
        reason: 'AKIAEXAMPLE000000001 is 91 days old (maxKeyAgeDays 90)',
      },
    ]);
    expect(result.users[0]?.keys[0]).toMatchObject({ action: 'rotate', lastUsedService: 's3' });
    expect(result.findings[0]).toMatchObject({ code: 'stale-key', severity: 'high' });
  });

  it('does not rotate a key exactly maxKeyAgeDays old', () => {
    expect(planFor({ keys: [key({ createdAt: daysAgo(90) })] }).actions).toEqual([]);
  });

  it('honours a configured maxKeyAgeDays', () => {
    const strict = { ...policy, policy: { ...policy.policy, maxKeyAgeDays: 30 } };
    const result = plan(inventory([user({ keys: [key({ createdAt: daysAgo(31) })] })]), strict, NOW);
    expect(result.actions.map((a) => a.kind)).toEqual(['rotate']);
  });

  it('reports an active key unused for unusedKeyDays, and not one used a day less', () => {
    const result = planFor(
      { userName: 'idle', keys: [key({ lastUsedAt: daysAgo(45) })] },
      { userName: 'busy', keys: [key({ lastUsedAt: daysAgo(44) })] },
    );
    expect(codes(result)).toEqual(['idle:unused-key']);
    expect(result.actions).toEqual([
      expect.objectContaining({
        kind: 'report',
        userName: 'idle',
        reason: expect.stringContaining('last used 45 days ago'),
      }),
    ]);
  });

  it('reports a never-used active key', () => {
    const result = planFor({ keys: [key({ lastUsedAt: undefined, createdAt: daysAgo(3) })] });
    expect(result.findings).toEqual([
      expect.objectContaining({
        code: 'never-used-key',
        severity: 'low',
        detail: expect.stringContaining('never been used'),
      }),
    ]);
    expect(result.users[0]?.keys[0]).toMatchObject({
      idleDays: 3,
      action: 'report',
      findings: ['never-used-key'],
    });
  });

  it('reports two active keys and refuses to plan a rotation that has no free slot', () => {
    const result = planFor({
      keys: [
        key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(200) }),
        key({ accessKeyId: 'AKIANEW', createdAt: daysAgo(150) }),
      ],
    });
    expect(codes(result)).toEqual([
      'ci-deploy:stale-key',
      'ci-deploy:stale-key',
      'ci-deploy:two-active-keys',
    ]);
    expect(result.actions.map((a) => a.kind)).toEqual(['report', 'report']);
    expect(result.actions[0]?.reason).toMatch(
      /^rotation blocked: AKIAOLD is 200 days old .* both key slots hold active keys/,
    );
  });

  it('does not rotate again a user whose newest active key is fresh: the stale one is being replaced', () => {
    // A user rotated this morning: the old key stays active until retirement deactivates it.
    const result = planFor({
      keys: [
        key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(200) }),
        key({ accessKeyId: 'AKIANEW', createdAt: daysAgo(0) }),
      ],
    });
    expect(result.actions.filter((a) => a.kind === 'rotate')).toEqual([]);
    expect(result.actions[0]).toEqual({
      kind: 'report',
      userName: 'ci-deploy',
      key: { accessKeyId: 'AKIAOLD' },
      reason:
        'AKIAOLD is 200 days old (maxKeyAgeDays 90), but the newer active key AKIANEW (0 days old) already replaces it; deactivate the old key once no consumer uses it (keyrot retires it for users it rotates)',
    });
  });

  it("does not report keyrot's own grace period: a managed user's replaced key is retirement's, not a finding", () => {
    // Prepare: keyrot cut ci-deploy over to AKIANEW 5 days ago; the old key AKIAOLD waits for retirement.
    const keys = [
      key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(200), lastUsedAt: daysAgo(60) }),
      key({ accessKeyId: 'AKIANEW', createdAt: daysAgo(5) }),
    ];
    const managed = { 'ci-deploy': { cutoverAt: daysAgo(5) } };
    // Act
    const result = plan({ ...inventory([user({ keys })]), managed }, policy, NOW);
    // Assess
    expect(result.findings).toEqual([]);
    expect(result.actions).toEqual([]);
    // The same keys on a user keyrot does not manage are reported, as before.
    expect(codes(plan(inventory([user({ keys })]), policy, NOW))).toEqual([
      'ci-deploy:stale-key',
      'ci-deploy:unused-key',
      'ci-deploy:two-active-keys',
    ]);
  });

  it('says a managed user whose newest key is due waits for its old key to retire, not that it is blocked', () => {
    const keys = [
      key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(300) }),
      key({ accessKeyId: 'AKIANEW', createdAt: daysAgo(100) }),
    ];
    const managed = { 'ci-deploy': { cutoverAt: daysAgo(100) } };
    const result = plan({ ...inventory([user({ keys })]), managed }, policy, NOW);
    expect(codes(result)).toEqual(['ci-deploy:stale-key']);
    expect(result.actions.map((a) => a.kind)).toEqual(['report']);
    expect(result.actions[0]?.reason).toMatch(
      /^rotation waits: AKIANEW is 100 days old .*keyrot retire deactivates it once nothing uses it/,
    );
  });

  it('rotates once per user even when both keys are stale and one is inactive', () => {
    const result = planFor({
      keys: [
        key({ accessKeyId: 'AKIAA', createdAt: daysAgo(300), status: 'Inactive', lastUsedAt: daysAgo(3) }),
        key({ accessKeyId: 'AKIAB', createdAt: daysAgo(100) }),
      ],
    });
    expect(result.actions).toEqual([
      expect.objectContaining({ kind: 'rotate', key: { accessKeyId: 'AKIAB' } }),
    ]);
  });

  it('deletes an inactive machine-user key quiet for deleteAfterDays, and keeps one quiet for less', () => {
    const result = planFor({
      keys: [
        key({ accessKeyId: 'AKIAGONE', status: 'Inactive', createdAt: daysAgo(60), lastUsedAt: daysAgo(7) }),
        key({ accessKeyId: 'AKIAKEEP', status: 'Inactive', createdAt: daysAgo(60), lastUsedAt: daysAgo(6) }),
      ],
    });
    expect(result.actions).toEqual([
      {
        kind: 'delete-key',
        userName: 'ci-deploy',
        key: { accessKeyId: 'AKIAGONE' },
        reason: 'AKIAGONE is inactive and has been quiet for 7 days (deleteAfterDays 7)',
      },
    ]);
    expect(result.users[0]?.keys.map((k) => k.action)).toEqual(['delete-key', 'none']);
  });

  it('counts a never-used inactive key as quiet since its creation', () => {
    const result = planFor({
      keys: [key({ status: 'Inactive', createdAt: daysAgo(8), lastUsedAt: undefined })],
    });
    expect(result.actions.map((a) => a.kind)).toEqual(['delete-key']);
  });

  it('reports a machine user with a console password, admin-level policies and no owner', () => {
    const result = planFor({
      tags: {},
      hasConsolePassword: true,
      policies: [
        { name: 'AdministratorAccess', kind: 'aws-managed', via: 'user' },
        {
          name: 'everything',
          kind: 'inline',
          via: 'group:ops',
          document: { Statement: { Effect: 'Allow', Action: '*', Resource: '*' } },
        },
      ],
    });
    expect(codes(result)).toEqual([
      'ci-deploy:console-password',
      'ci-deploy:admin-policy',
      'ci-deploy:missing-owner',
    ]);
    expect(result.findings[1]?.detail).toBe(
      'overpowered machine user: admin-level policies AdministratorAccess, everything (via group:ops)',
    );
    // One report per finding, none on a key: the list can't be empty and pass.
    expect(result.actions.map((a) => [a.kind, a.key])).toEqual([
      ['report', undefined],
      ['report', undefined],
      ['report', undefined],
    ]);
  });

  it('reports a user AWS quarantined after a key was exposed, machine user or not', () => {
    const quarantine = { name: 'AWSCompromisedKeyQuarantineV3', kind: 'aws-managed' as const, via: 'user' };
    const result = plan(
      inventory([
        user({ policies: [quarantine] }),
        user({ userName: 'alice', path: '/', policies: [quarantine] }),
      ]),
      policy,
      NOW,
    );
    expect(codes(result)).toEqual(['ci-deploy:quarantine-policy', 'alice:quarantine-policy']);
    expect(result.findings[0]).toMatchObject({ severity: 'high' });
    expect(result.findings[0]?.detail).toMatch(
      /^AWS quarantined this user \(AWSCompromisedKeyQuarantineV3\).*keyrot rotate --user ci-deploy --compromised/,
    );
    expect(result.actions.map((a) => a.kind)).toEqual(['report', 'report']);
  });

  it('treats a blank owner tag as missing', () => {
    expect(codes(planFor({ tags: { owner: '  ' } }))).toEqual(['ci-deploy:missing-owner']);
    expect(planFor({ tags: { owner: 'data' } }).users[0]?.owner).toBe('data');
  });

  it('only reports the keys of users outside the machine path, never rotating or deleting them', () => {
    const result = planFor({
      userName: 'alice',
      path: '/',
      tags: {},
      hasConsolePassword: true,
      policies: [{ name: 'AdministratorAccess', kind: 'aws-managed', via: 'user' }],
      keys: [
        key({ accessKeyId: 'AKIAHUMAN1', createdAt: daysAgo(500), lastUsedAt: daysAgo(100) }),
        key({
          accessKeyId: 'AKIAHUMAN2',
          status: 'Inactive',
          createdAt: daysAgo(500),
          lastUsedAt: daysAgo(100),
        }),
      ],
    });
    expect(result.users[0]?.isMachineUser).toBe(false);
    expect(codes(result)).toEqual([
      'alice:stale-key',
      'alice:unused-key',
      'alice:inactive-key-past-retention',
    ]);
    expect(result.actions.map((a) => a.kind)).toEqual(['report', 'report', 'report']);
    expect(result.actions[0]?.reason).toMatch(/not a machine user \(path \/\), so keyrot only reports it$/);
  });

  it('orders keys by creation time and names slot-only keys by slot', () => {
    const result = planFor({
      keys: [
        { slot: 2, status: 'Active', createdAt: daysAgo(1) },
        { slot: 1, status: 'Active', createdAt: daysAgo(200), lastUsedAt: daysAgo(1) },
      ],
    });
    expect(result.users[0]?.keys.map((k) => k.key)).toEqual([{ slot: 1 }, { slot: 2 }]);
    expect(result.users[0]?.keys.map((k) => k.findings)).toEqual([['stale-key'], ['never-used-key']]);
    expect(result.actions[0]?.reason).toMatch(/^key slot 1 is 200 days old .* newer active key key slot 2/);
  });

  it('never matches a key known by id with one known by neither id nor slot, either way round', () => {
    // A key ListAccessKeys gave without an id is listed with accessKeyId '' (lib/inventory/per-user.ts),
    // and named by neither id nor slot: another key's findings and actions are not its, nor its theirs.
    const result = planFor({
      keys: [
        key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(200) }),
        { accessKeyId: '', status: 'Inactive', createdAt: daysAgo(100) },
      ],
    });
    expect(result.users[0]?.keys.map((k) => k.key)).toEqual([{ accessKeyId: 'AKIAOLD' }, {}]);
    expect(result.findings.map((f) => [f.code, f.key])).toEqual([
      ['stale-key', { accessKeyId: 'AKIAOLD' }],
      ['inactive-key-past-retention', {}],
    ]);
    expect(result.users[0]?.keys.map((k) => [k.findings, k.action])).toEqual([
      [['stale-key'], 'rotate'],
      [['inactive-key-past-retention'], 'delete-key'],
    ]);
  });

  it('reports a machine user whose name AWS refuses for secrets and tags, and never plans its rotation', () => {
    const result = planFor({
      userName: 'etl,eu',
      arn: 'arn:aws:iam::123456789012:user/machine/etl,eu',
      keys: [key({ accessKeyId: 'AKIAOLD', createdAt: daysAgo(200) })],
    });
    expect(codes(result)).toEqual(['etl,eu:stale-key', 'etl,eu:unmanageable-name']);
    expect(result.actions.map((a) => a.kind)).toEqual(['report', 'report']);
    expect(result.actions[0]?.reason).toMatch(
      /^rotation impossible: AKIAOLD is 200 days old .*unmanageable-name/,
    );
    expect(result.actions[1]?.reason).toMatch(/^keyrot can't manage this user: its name contains ","/);
    // A human user with such a name is no concern of keyrot's.
    expect(codes(planFor({ userName: 'a,b', path: '/', arn: 'arn:aws:iam::1:user/a,b' }))).toEqual([]);
  });

  it('handles a user with no keys', () => {
    const result = planFor({ keys: [] });
    expect(result.users[0]?.keys).toEqual([]);
    expect(result.actions).toEqual([]);
  });
});

describe('isMachineUser', () => {
  it('includes nested paths and excludes look-alike prefixes', () => {
    expect(isMachineUser({ path: '/machine/' }, '/machine/')).toBe(true);
    expect(isMachineUser({ path: '/machine/ci/deploy/' }, '/machine/')).toBe(true);
    expect(isMachineUser({ path: '/machines/' }, '/machine/')).toBe(false);
    expect(isMachineUser({ path: '/' }, '/machine/')).toBe(false);
  });
});

describe('keyLabel', () => {
  it('prefers the key id, then the slot', () => {
    expect(keyLabel({ accessKeyId: 'AKIAX', slot: 1 })).toBe('AKIAX');
    expect(keyLabel({ slot: 2 })).toBe('key slot 2');
    expect(keyLabel({})).toBe('key');
  });
});
