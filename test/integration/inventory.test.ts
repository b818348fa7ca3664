import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { systemClock } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { readInventory } from '../../lib/inventory/inventory.js';
import type { Inventory } from '../../lib/inventory/types.js';
import { plan } from '../../lib/policy/plan.js';
import { scanAccount } from '../../lib/scan.js';
import { type SeededKey, seedUsers } from '../../lib/testbed/seed.js';

const DAY = 86_400_000;
const second = (d: Date | undefined) => (d === undefined ? undefined : Math.floor(d.getTime() / 1000));

/** What both strategies must agree on. Last-used service is left out: moto's report says not_supported. */
function comparable(inventory: Inventory) {
  return inventory.users.map((u) => ({
    userName: u.userName,
    path: u.path,
    tags: u.tags,
    hasConsolePassword: u.hasConsolePassword,
    policies: u.policies.map((p) => `${p.kind}:${p.name}:${p.via}`).sort(),
    keys: u.keys.map((k) => ({
      status: k.status,
      createdAt: second(k.createdAt),
      lastUsedAt: second(k.lastUsedAt),
    })),
  }));
}

describe('inventory of one account on moto', () => {
  const clients = createClients();
  const deps = { clients, clock: systemClock };
  let seeded: SeededKey[];

  beforeAll(async () => {
    seeded = await seedUsers(clients.iam, process.env.AWS_ENDPOINT_URL ?? '', [
      { userName: 'ci-deploy', path: '/machine/ci/', tags: { owner: 'platform' }, keys: [{ used: true }] },
      {
        userName: 'log-shipper',
        path: '/machine/',
        tags: { owner: 'obs' },
        keys: [{ inactive: true, used: true }, { used: true }],
      },
      { userName: 'never-used', path: '/machine/', tags: { owner: 'obs' }, keys: [{}] },
      { userName: 'two-active', path: '/machine/', tags: { owner: 'data' }, keys: [{ used: true }, {}] },
      {
        userName: 'admin-bot',
        path: '/machine/',
        password: true,
        managedPolicies: ['AdministratorAccess'],
        keys: [{ used: true }],
      },
      { userName: 'no-keys', path: '/machine/', tags: { owner: 'platform' } },
      { userName: 'alice', path: '/', password: true, keys: [{ used: true }] },
      { userName: 'machines-lookalike', path: '/machines/', keys: [{}] },
    ]);
  });

  it('reads every user, in and outside the machine path, with keys, status, use and password', async () => {
    const inventory = await readInventory(deps, defaultConfig.inventory, 'exact');
    expect(inventory.accountId).toBe('123456789012');
    expect(inventory.users.map((u) => u.userName)).toEqual([
      'admin-bot',
      'alice',
      'ci-deploy',
      'log-shipper',
      'machines-lookalike',
      'never-used',
      'no-keys',
      'two-active',
    ]);
    const byName = new Map(inventory.users.map((u) => [u.userName, u]));
    expect(byName.get('log-shipper')?.keys.map((k) => [k.accessKeyId, k.status])).toEqual(
      seeded
        .filter((k) => k.userName === 'log-shipper')
        .map((k, i) => [k.accessKeyId, i === 0 ? 'Inactive' : 'Active']),
    );
    expect(byName.get('ci-deploy')?.keys[0]).toMatchObject({ lastUsedService: 'sts' });
    expect(byName.get('ci-deploy')?.keys[0]?.lastUsedAt).toBeInstanceOf(Date);
    expect(byName.get('never-used')?.keys[0]?.lastUsedAt).toBeUndefined();
    expect(byName.get('admin-bot')).toMatchObject({
      hasConsolePassword: true,
      policies: [{ name: 'AdministratorAccess', kind: 'aws-managed' }],
    });
    expect(byName.get('ci-deploy')?.tags).toEqual({ owner: 'platform' });
    expect(byName.get('no-keys')?.keys).toEqual([]);
  });

  it('the report and exact strategies agree on the same account', async () => {
    const report = await readInventory(deps, defaultConfig.inventory, 'report');
    const exact = await readInventory(deps, defaultConfig.inventory, 'exact');
    expect(report.strategy).toBe('report');
    expect(comparable(report)).toEqual(comparable(exact));
    expect(report.usersReadExactly).toEqual([]);
  });

  it.each([0, 50, 100])('both strategies plan the same actions %i days from now', async (days) => {
    const now = new Date(Date.now() + days * DAY);
    const viaReport = await scanAccount(deps, defaultConfig, now, 'report');
    const viaExact = await scanAccount(deps, defaultConfig, now, 'exact');
    const actions = (p: typeof viaReport.plan) =>
      p.actions.map((a) => `${a.kind} ${a.userName} ${a.key?.accessKeyId ?? ''}`);
    const keyless = (p: typeof viaReport.plan) => p.actions.map((a) => `${a.kind} ${a.userName}`);
    // Keys acted on (rotate, delete) carry ids under both strategies; report-only rows may be slot-named.
    expect(actions(viaReport.plan).filter((a) => !a.startsWith('report'))).toEqual(
      actions(viaExact.plan).filter((a) => !a.startsWith('report')),
    );
    expect(keyless(viaReport.plan)).toEqual(keyless(viaExact.plan));
    expect(viaReport.plan.findings.map((f) => `${f.userName}:${f.code}`)).toEqual(
      viaExact.plan.findings.map((f) => `${f.userName}:${f.code}`),
    );
  });

  it('plans rotation only for machine users, 100 days on, and never for the human or the look-alike path', async () => {
    const { plan: result } = await scanAccount(deps, defaultConfig, new Date(Date.now() + 100 * DAY));
    const rotated = result.actions.filter((a) => a.kind === 'rotate').map((a) => a.userName);
    expect(rotated).toEqual(['admin-bot', 'ci-deploy', 'log-shipper', 'never-used']);
    const ciKey = seeded.find((k) => k.userName === 'ci-deploy')?.accessKeyId;
    expect(
      result.actions.find((a) => a.userName === 'ci-deploy' && a.kind === 'rotate')?.key?.accessKeyId,
    ).toBe(ciKey);
    // Humans are only ever reported; the set can't be empty and pass.
    const humanActions = result.actions.filter(
      (a) => a.userName === 'alice' || a.userName === 'machines-lookalike',
    );
    expect(new Set(humanActions.map((a) => a.kind))).toEqual(new Set(['report']));
    expect(result.actions.find((a) => a.kind === 'delete-key')).toMatchObject({
      userName: 'log-shipper',
      key: { accessKeyId: seeded.find((k) => k.userName === 'log-shipper')?.accessKeyId },
    });
    expect(
      result.actions.find((a) => a.userName === 'two-active' && a.reason.startsWith('rotation blocked')),
    ).toBeDefined();
  });

  it('plans nothing destructive today for a freshly seeded account', async () => {
    const inventory = await readInventory(deps, defaultConfig.inventory);
    const today = plan(inventory, defaultConfig, new Date());
    expect(today.actions.filter((a) => a.kind !== 'report')).toEqual([]);
    expect(today.findings.map((f) => `${f.userName}:${f.code}`).sort()).toEqual([
      'admin-bot:admin-policy',
      'admin-bot:console-password',
      'admin-bot:missing-owner',
      'machines-lookalike:never-used-key',
      'never-used:never-used-key',
      'two-active:never-used-key',
      'two-active:two-active-keys',
    ]);
  });
});
