import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccountAliasCommand, GetUserCommand } from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { accountsToWorkIn } from '../../lib/accounts/organization.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { createSecretInput } from '../../lib/secret/secret.js';
import { memberClients as seededMemberClients } from '../../lib/testbed/org.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';

/**
 * `keyrot plan --org` and `keyrot status --org` on one moto: the hub lists the organization, assumes
 * the member role in each account (moto gives each assumed account its own IAM and Secrets Manager)
 * and prints one view with an ACCOUNT column. Account selection by tag runs against moto's
 * Organizations tags. This file runs with moto's request authentication off (as org-worker.test.ts:
 * moto answers cross-account AssumeRole with an HTML 500 when it is on), so a member account without
 * the member stack is played by STS refusing AssumeRole into that one account.
 */
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: 'org-cli-test' };
const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
const later = new Date(Date.now() + 100 * DAY_MS).toISOString();

const memberClients = (accountId: string) => seededMemberClients(accountId, ROLE);

function configFile(accounts: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyrot-org-cli-'));
  const path = join(dir, 'keyrot.yaml');
  writeFileSync(path, JSON.stringify({ accounts: { externalId: ROLE.externalId, ...accounts } }));
  return path;
}

/** STS refuses AssumeRole into `accountId`, as it does where the member stack (and its role) is missing. */
function denyAssumeRoleInto(accountId: string) {
  const send = STSClient.prototype.send;
  vi.spyOn(STSClient.prototype, 'send').mockImplementation(function (
    this: STSClient,
    command: Parameters<STSClient['send']>[0],
  ) {
    if (command instanceof AssumeRoleCommand && command.input.RoleArn?.includes(`::${accountId}:`)) {
      return Promise.reject(
        Object.assign(
          new Error(
            `User: arn:aws:sts::123456789012:assumed-role/keyrot-hub/cli is not authorized to perform: sts:AssumeRole on resource: ${command.input.RoleArn}`,
          ),
          { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
        ),
      );
    }
    return (send as (c: typeof command) => Promise<unknown>).call(this, command);
  } as STSClient['send']);
}

const ids = { a: '', b: '', c: '' };

describe('organization mode from the CLI, on moto', () => {
  beforeAll(async () => {
    await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
    // Prepare: team-a (alias team-a-prod, tag team=payments) and team-b (no alias, tag team=search),
    // each with a machine user whose key is due on day 100; team-c holds no member stack.
    const org = new OrganizationsClient({});
    await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    for (const [name, team] of [
      ['a', 'payments'],
      ['b', 'search'],
      ['c', 'search'],
    ] as const) {
      const { CreateAccountStatus } = await org.send(
        new CreateAccountCommand({
          AccountName: `team-${name}`,
          Email: `team-${name}@example.com`,
          Tags: [{ Key: 'team', Value: team }],
        }),
      );
      ids[name] = CreateAccountStatus?.AccountId ?? '';
    }
    const a = await memberClients(ids.a);
    await a.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'team-a-prod' }));
    await seedUsers(a.iam, endpoint, [
      { userName: 'svc-a', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    const b = await memberClients(ids.b);
    await seedUsers(b.iam, endpoint, [
      { userName: 'svc-b', path: '/machine/', tags: { owner: 'o' }, keys: [{}] },
    ]);
    // svc-b's secret names a key IAM does not have: `keyrot status` reports it BROKEN.
    const { User } = await b.iam.send(new GetUserCommand({ UserName: 'svc-b' }));
    await b.secrets.send(new CreateSecretCommand(createSecretInput(defaultConfig, 'svc-b', User?.Arn ?? '')));
    await b.secrets.send(
      new PutSecretValueCommand({
        SecretId: 'keyrot/svc-b',
        SecretString: JSON.stringify({
          Version: 1,
          AccessKeyId: 'AKIAFORGED0000000000',
          SecretAccessKey: 'not-a-real-secret',
          UserName: 'svc-b',
          CreatedAt: new Date().toISOString(),
        }),
        VersionStages: ['AWSCURRENT'],
      }),
    );
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('selects accounts by Organizations tag, and an exclusion by tag wins', async () => {
    const org = new OrganizationsClient({});
    const included = await accountsToWorkIn(org, { include: ['tag:team=payments'], exclude: [] });
    expect(included.map((a) => a.id)).toEqual([ids.a]);
    const all = await accountsToWorkIn(org, { include: ['tag:team'], exclude: ['tag:team=search'] });
    expect(all.map((a) => a.id)).toEqual([ids.a]);
    const search = await accountsToWorkIn(org, { include: ['tag:team=search'], exclude: [ids.c] });
    expect(search.map((a) => a.id)).toEqual([ids.b]);
  });

  it('plan --org shows every account with an ACCOUNT column named by alias, else by organization name', async () => {
    // Act
    const run = await runCli(
      'plan',
      '--org',
      '--now',
      later,
      '--config',
      configFile({ include: [ids.a, ids.b] }),
    );
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('keyrot plan --org · 2 accounts · 2 users');
    expect(run.stdout).toMatch(/^ACCOUNT +USER +KEY +STATUS/m);
    expect(run.stdout).toMatch(
      new RegExp(`^team-a-prod \\(${ids.a}\\) +svc-a +AKIA\\w+ +Active .*rotate$`, 'm'),
    );
    expect(run.stdout).toMatch(new RegExp(`^team-b \\(${ids.b}\\) +svc-b +AKIA\\w+ +Active .*rotate$`, 'm'));
    expect(run.stdout).toContain('Planned: 2 rotate, 0 delete, 2 to report, in 2 accounts.');
    expect(run.stdout).toMatch(new RegExp(`rotate +team-a-prod \\(${ids.a}\\) svc-a AKIA`));
  });

  it('plan --org --json gives each account its plan', async () => {
    const run = await runCli(
      'plan',
      '--org',
      '--json',
      '--config',
      configFile({ include: ['tag:team'], exclude: [ids.c] }),
    );
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      accounts: Array<{
        accountId: string;
        alias: string;
        plan: { accountId: string; users: Array<{ userName: string }> };
      }>;
    };
    expect(
      out.accounts.map((a) => [a.accountId, a.alias, a.plan.accountId, a.plan.users.map((u) => u.userName)]),
    ).toEqual(
      [
        [ids.a, 'team-a-prod', ids.a, ['svc-a']],
        [ids.b, 'team-b', ids.b, ['svc-b']],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
  });

  it('status --org exits 5 for a broken user in one account, naming the account', async () => {
    const run = await runCli('status', '--org', '--config', configFile({ include: [ids.a, ids.b] }));
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(/^ACCOUNT +USER +CURRENT KEY/m);
    expect(run.stdout).toMatch(new RegExp(`^team-a-prod \\(${ids.a}\\) +svc-a +\\(no keyrot secret\\)`, 'm'));
    expect(run.stdout).toMatch(
      new RegExp(`^team-b \\(${ids.b}\\) +svc-b +BROKEN .*Fix: keyrot rotate --user svc-b`, 'm'),
    );
    expect(run.stdout).toContain(`1 machine user needs attention: svc-b in team-b (${ids.b}).`);
    // Only team-a: nothing is broken.
    const healthy = await runCli('status', '--org', '--json', '--config', configFile({ include: [ids.a] }));
    expect(healthy.code).toBe(0);
    expect(JSON.parse(healthy.stdout)).toMatchObject({
      healthy: true,
      accounts: [
        { accountId: ids.a, alias: 'team-a-prod', users: [{ userName: 'svc-a', state: 'not-onboarded' }] },
      ],
    });
  });

  it('names an account whose member role cannot be assumed, with what to do, and still shows the others', async () => {
    // Prepare: team-c has no member stack.
    denyAssumeRoleInto(ids.c);
    const config = configFile({ include: [ids.a, ids.c] });
    // Act
    const plan = await runCli('plan', '--org', '--config', config);
    const status = await runCli('status', '--org', '--config', config);
    // Assess: exit 3 (access) for plan, 5 for status; team-a is shown in both.
    expect(plan.code).toBe(3);
    expect(status.code).toBe(5);
    const said = `Could not assume arn:aws:iam::${ids.c}:role/keyrot/keyrot-member: User: arn:aws:sts::123456789012:assumed-role/keyrot-hub/cli is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${ids.c}:role/keyrot/keyrot-member. Deploy the member stack to account ${ids.c}, or leave the account out with accounts.exclude.`;
    for (const run of [plan, status]) {
      expect(run.stderr).toContain(`keyrot: account team-c (${ids.c}) could not be read: ${said}`);
      expect(run.stdout).toContain(`1 account could not be read:\n  team-c (${ids.c}): ${said}`);
      expect(run.stdout).toMatch(new RegExp(`^team-c \\(${ids.c}\\) +.*UNREADABLE`, 'm'));
      expect(run.stdout).toMatch(new RegExp(`^team-a-prod \\(${ids.a}\\) +svc-a `, 'm'));
    }
  });

  it('refuses organization mode without accounts.externalId, saying where to set it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyrot-org-cli-'));
    writeFileSync(join(dir, 'k.yaml'), '{}');
    const run = await runCli('plan', '--org', '--config', join(dir, 'k.yaml'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('accounts.externalId is not set');
    expect(run.stdout).toBe('');
  });
});
