import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { runCli } from '../helpers/cli.js';
import { keyIds, secretNames } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';

/** Creates a user with one inline policy that allows `action` on everything. */
async function userAllowed(iam: IAMClient, userName: string, action: string): Promise<void> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const statement = { Effect: 'Allow', Action: action, Resource: '*' };
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: 'inline',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }),
    }),
  );
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('keyrot plan against moto', () => {
  const { iam } = createClients();

  beforeAll(async () => {
    await seedUsers(iam, endpoint(), [
      { userName: 'ci-deploy', path: '/machine/', tags: { owner: 'platform' }, keys: [{ used: true }] },
      { userName: 'alice', path: '/', keys: [{}] },
    ]);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('prints a table of users, keys, findings and planned actions, and exits 0', async () => {
    const result = await runCli('plan', '--now', new Date(Date.now() + 120 * 86_400_000).toISOString());
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      'keyrot plan · account 123456789012 · 2 users · machine path /machine/ · strategy report',
    );
    expect(lines[1]).toMatch(/\(simulated with --now\)$/);
    expect(result.stdout).toMatch(/USER +KEY +STATUS +AGE +LAST USED +FINDING +ACTION/);
    expect(result.stdout).toMatch(
      /ci-deploy +AKIA[A-Z0-9]{16} +Active +120d +\d{4}-\d{2}-\d{2} +stale-key,unused-key +rotate/,
    );
    expect(result.stdout).toMatch(
      /alice \(human\) +key slot 1 +Active +120d +never +stale-key,never-used-key +report/,
    );
    expect(result.stdout).toContain('Planned: 1 rotate, 0 delete, 3 to report.');
    expect(result.stdout).toContain('keyrot plan changes nothing.');
  });

  it('prints the plan as JSON with --json', async () => {
    const result = await runCli('plan', '--json', '--strategy', 'exact');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      accountId: string;
      strategy: string;
      users: Array<{ userName: string; isMachineUser: boolean }>;
    };
    expect(parsed.accountId).toBe('123456789012');
    expect(parsed.strategy).toBe('exact');
    expect(parsed.users.map((u) => [u.userName, u.isMachineUser])).toEqual([
      ['alice', false],
      ['ci-deploy', true],
    ]);
  });

  it('exits 3 with one line naming the endpoint when it cannot be reached', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${await closedPort()}`);
    vi.stubEnv('AWS_MAX_ATTEMPTS', '2');
    const result = await runCli('plan');
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^keyrot: Cannot reach the endpoint http:\/\/127\.0\.0\.1:\d+ \(AWS_ENDPOINT_URL\) for sts:GetCallerIdentity \(ECONNREFUSED\)\. Check the network, or unset AWS_ENDPOINT_URL \/ start the emulator\.\n$/,
    );
  });

  it('exits 3 with one line saying how to provide credentials when there are none', async () => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'])
      vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/credentials');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/config');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    const result = await runCli('plan');
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'keyrot: No AWS credentials found. Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them.\n',
    });
  });

  // Request authentication and IAM policy checks are on for every integration file.
  describe('with IAM enforcing policies', () => {
    let limited: { id: string; secret: string };
    let keysBefore: unknown;

    beforeAll(async () => {
      // keyrot runs as an identity that may not read the account's authorization details.
      await userAllowed(iam, 'auditor', 'sts:GetCallerIdentity');
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'auditor' }));
      limited = { id: AccessKey?.AccessKeyId ?? '', secret: AccessKey?.SecretAccessKey ?? '' };
      keysBefore = (await iam.send(new ListAccessKeysCommand({ UserName: 'ci-deploy' }))).AccessKeyMetadata;
    });
    /** Signs as a user's long-term key: no session token from the test identity. */
    const signAs = (id: string, secret: string) => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', id);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', secret);
      vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    };

    it('exits 3 with one line naming the denied operation, and changes nothing', async () => {
      signAs(limited.id, limited.secret);
      const result = await runCli('plan');
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'keyrot: AWS denied iam:GetAccountAuthorizationDetails (AccessDenied). Grant this identity iam:GetAccountAuthorizationDetails — the README\'s "Permissions" section lists what each command needs.\n',
      );
      expect(result.stderr).not.toContain(limited.secret);
      vi.unstubAllEnvs();
      expect(
        (await iam.send(new ListAccessKeysCommand({ UserName: 'ci-deploy' }))).AccessKeyMetadata,
      ).toEqual(keysBefore);
    });

    it('exits 3 saying the credentials were rejected when the key is unknown', async () => {
      signAs('AKIAUNKNOWNUNKNOWN00', 'nope');
      const result = await runCli('plan');
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        /^keyrot: AWS rejected the credentials on sts:GetCallerIdentity \(InvalidClientTokenId\)\..*\n$/,
      );
    });
  });
});

describe('keyrot as its own process', () => {
  it('prints nothing on stderr before its output: no AWS SDK Node.js support warning on any command', async () => {
    // Prepare: the environment a user has, without the switch the test runner sets for itself.
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    await seedUsers(createClients().iam, endpoint(), [
      { userName: 'ci', path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
    ]);
    // Act
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/entry.ts', 'plan'], { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        child.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      },
    );
    // Assess: only keyrot's own one-line notes (which config it read), nothing from the SDK.
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    expect(result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('keyrot: '))).toEqual(
      [],
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^keyrot plan · account 123456789012/);
  });
});

describe('names AWS refuses', () => {
  it('never onboards a machine user whose name holds ",": plan reports why, rotate refuses and changes nothing', async () => {
    // Prepare: IAM (and moto) accept the name; Secrets Manager secret names and tag values don't.
    const clients = createClients();
    await seedUsers(clients.iam, endpoint(), [
      { userName: 'etl,eu', path: '/machine/', tags: { owner: 'data' }, keys: [{ used: true }] },
    ]);
    const before = await keyIds(clients, 'etl,eu');
    // Act
    const plan = await runCli('plan', '--now', new Date(Date.now() + 120 * 86_400_000).toISOString());
    const rotate = await runCli('rotate', '--user', 'etl,eu');
    // Assess
    expect(plan.stdout).toMatch(/etl,eu +- +- +- +- +unmanageable-name +report/);
    expect(plan.stdout).toMatch(/report +etl,eu key slot 1: rotation impossible: /);
    expect(plan.stdout).not.toMatch(/rotate +etl,eu/);
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/^keyrot: keyrot can't manage etl,eu: its name contains ","/);
    expect(await keyIds(clients, 'etl,eu')).toEqual(before);
    expect(await secretNames(clients)).not.toContain('keyrot/etl,eu');
  });
});
