import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { type Clock, DAY_MS } from '../../lib/clock.js';
import { type Config, parseConfig } from '../../lib/config.js';
import { TargetError } from '../../lib/errors.js';
import { retireUser } from '../../lib/retirement/retire.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { rollbackUser } from '../../lib/rotation/rollback.js';
import { getIamUser } from '../../lib/secret/state.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { type GithubFake, startGithubFake } from '../fakes/github.js';
import { type GitlabFake, startGitlabFake } from '../fakes/gitlab.js';
import { startWebhookFake, type WebhookFake } from '../fakes/webhook.js';
import { runCli } from '../helpers/cli.js';
import { manualClock } from '../helpers/clock.js';
import { keyIds, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const GITHUB_TOKEN = 'github_pat_integration_0123456789';
const GITLAB_TOKEN = 'glpat-integration-0123456789';
const SIGNING = `whsec_${randomBytes(32).toString('base64')}`;
const DAY0 = new Date(Date.now() - 3 * DAY_MS);
const onDay = (day: number): Clock => manualClock(new Date(DAY0.getTime() + day * DAY_MS));
let github: GithubFake;
let gitlab: GitlabFake;
let hook: WebhookFake;
let config: Config;
let configFile: string;
const old: Record<string, string> = {};

const targetsOf = (repo: string) => [
  {
    type: 'github-actions',
    name: 'ci-repo',
    repository: repo,
    tokenSecretId: 'keyrot-tokens/github',
    apiUrl: github.url,
  },
  {
    type: 'webhook',
    name: 'ci-hook',
    url: `${hook.url}/hooks/keyrot`,
    signingSecretId: 'keyrot-tokens/hook',
  },
];
const deps = (day = 0) =>
  rotationDeps(clients, onDay(day), config, {
    targetDeps: { http: { timeoutMs: 2_000, attempts: 2, maxWaitMs: 5_000 } },
  });
const tags = async (user: string) => {
  const { Tags = [] } = await clients.secrets.send(new DescribeSecretCommand({ SecretId: `keyrot/${user}` }));
  return Object.fromEntries(
    Tags.filter((t) => t.Key?.startsWith('keyrot:target:')).map((t) => [t.Key, t.Value?.split(' ')[0]]),
  );
};

beforeAll(async () => {
  github = await startGithubFake({ token: GITHUB_TOKEN, repositories: ['acme/ci', 'acme/ci2', 'acme/ci3'] });
  gitlab = await startGitlabFake({ token: GITLAB_TOKEN, projects: ['acme/ci3'] });
  hook = await startWebhookFake({ secret: SIGNING });
  for (const [name, value] of [
    ['keyrot-tokens/github', GITHUB_TOKEN],
    ['keyrot-tokens/gitlab', GITLAB_TOKEN],
    ['keyrot-tokens/hook', SIGNING],
  ] as const)
    await clients.secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  const seeded = await seedUsers(
    clients.iam,
    endpoint(),
    ['ci', 'ci2', 'ci3'].map((userName) => ({
      userName,
      path: '/machine/',
      tags: { owner: 't' },
      keys: [{ used: true }],
    })),
  );
  const document = {
    users: {
      ci: { targets: targetsOf('acme/ci') },
      ci2: { targets: targetsOf('acme/ci2') },
      ci3: {
        targets: [
          ...targetsOf('acme/ci3'),
          {
            type: 'gitlab',
            name: 'ci-gitlab',
            project: 'acme/ci3',
            tokenSecretId: 'keyrot-tokens/gitlab',
            apiUrl: gitlab.url,
          },
          { type: 'aws-ssm', name: 'ci-ssm', parameterName: '/keyrot/ci3' },
        ],
      },
    },
  };
  config = parseConfig(document, 'test');
  configFile = join(mkdtempSync(join(tmpdir(), 'keyrot-targets-')), 'keyrot.json');
  writeFileSync(configFile, JSON.stringify(document));
  // ci and ci2 are onboarded (their first rotation, which every target received) and their keys from
  // before keyrot are gone, as retirement leaves them: "old" is the key keyrot made current then.
  for (const key of seeded) {
    if (key.userName === 'ci3') {
      old.ci3 = key.accessKeyId;
      continue;
    }
    old[key.userName] = (await rotateUser(deps(-20), config, key.userName)).accessKeyId;
    await clients.iam.send(
      new DeleteAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId }),
    );
  }
  hook.deliveries.length = 0;
});

afterAll(async () => {
  await Promise.all([github?.close(), gitlab?.close(), hook?.close()]);
});

describe('rotation with targets, on moto', () => {
  it('keeps the old key current and active until both targets hold the new key', async () => {
    // Prepare: GitHub fails every attempt of the first rotation.
    github.fail(
      { status: 503, body: '{"message":"Service Unavailable"}' },
      { times: 100, when: (r) => r.path.includes('/acme/ci/') },
    );
    // Act
    const error = await rotateUser(deps(), config, 'ci').catch((e: unknown) => e);
    // Assess: the step failed naming the user and the target; the old key is still the one in use.
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toMatch(
      /^Pushing the new key of ci failed for 1 of 2 targets; the old key stays current/,
    );
    expect((error as Error).message).toContain('github-actions target "ci-repo": HTTP 503');
    expect((await stageValue(clients, 'keyrot/ci', 'AWSCURRENT'))?.AccessKeyId).toBe(old.ci);
    expect(await keyIds(clients, 'ci')).toContainEqual({ id: old.ci, status: 'Active' });
    const pending = await stageValue(clients, 'keyrot/ci', 'AWSPENDING');
    expect(hook.deliveries.map((d) => d.body.accessKeyId)).toEqual([pending?.AccessKeyId]);
    expect(github.variable('repo:acme/ci', 'KEYROT_ACCESS_KEY_ID')).toBe(old.ci);
    // The webhook's record moved to the pending key; GitHub's still names the old one.
    expect(await tags('ci')).toEqual({
      'keyrot:target:ci-hook': pending?.AccessKeyId,
      'keyrot:target:ci-repo': old.ci,
    });

    // Act: GitHub recovers; the retry resumes the same rotation and pushes again.
    github.clearFaults();
    const result = await rotateUser(deps(), config, 'ci');

    // Assess: the pending key is current now, and both targets hold it.
    expect(result).toMatchObject({ resumed: true, accessKeyId: pending?.AccessKeyId });
    const current = await stageValue(clients, 'keyrot/ci', 'AWSCURRENT');
    expect(current?.AccessKeyId).toBe(pending?.AccessKeyId);
    expect(github.secret('repo:acme/ci', 'AWS_ACCESS_KEY_ID')).toBe(current?.AccessKeyId);
    expect(github.secret('repo:acme/ci', 'AWS_SECRET_ACCESS_KEY')).toBe(current?.SecretAccessKey);
    expect(github.variable('repo:acme/ci', 'KEYROT_ACCESS_KEY_ID')).toBe(current?.AccessKeyId);
    // The webhook got the same delivery again (same webhook-id), which the receiver drops.
    expect(hook.deliveries.map((d) => d.body.accessKeyId)).toEqual([current?.AccessKeyId]);
    expect(hook.rejected).toBe(0);
    expect(await tags('ci')).toEqual({
      'keyrot:target:ci-hook': current?.AccessKeyId,
      'keyrot:target:ci-repo': current?.AccessKeyId,
    });
  });

  it('keyrot status reports a target holding another key as drift', async () => {
    const current = await stageValue(clients, 'keyrot/ci', 'AWSCURRENT');
    let out = await runCli('status', '--user', 'ci', '--config', configFile);
    expect(out.stdout).toMatch(
      new RegExp(`ci\\s+ci-repo\\s+github-actions\\s+${current?.AccessKeyId}\\s+in-sync`),
    );
    // Someone puts the old key back in GitHub.
    github.setVariable('repo:acme/ci', 'KEYROT_ACCESS_KEY_ID', old.ci ?? '');
    out = await runCli('status', '--user', 'ci', '--config', configFile);
    expect(out.stdout).toMatch(
      new RegExp(`ci\\s+ci-repo\\s+github-actions\\s+${old.ci}\\s+drift\\s+drift: holds ${old.ci}`),
    );
    // The webhook can't say which key it holds: keyrot's record stands in.
    expect(out.stdout).toMatch(
      /ci\s+ci-hook\s+webhook\s+\w+\s+in-sync\s+holds AWSCURRENT's key \(as recorded/,
    );
  });

  it('retirement holds the old key while a target still holds it, and names the target', async () => {
    // Day 14: the old key is idle (idleDaysBeforeDeactivate 10) and past deactivateAfterDays, but GitHub
    // still shows it.
    const out = await runCli(
      'retire',
      '--user',
      'ci',
      '--now',
      new Date(DAY0.getTime() + 14 * DAY_MS).toISOString(),
      '--config',
      configFile,
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(`ci\\s+${old.ci}\\s+previous\\s+hold\\s+still held by github-actions target "ci-repo"`),
    );
    expect(await keyIds(clients, 'ci')).toContainEqual({ id: old.ci, status: 'Active' });
    // The retire function, without adapter code, goes by the records: both got the new key.
    const recorded = await retireUser(
      { clients, clock: onDay(14) },
      config,
      await getIamUser(clients.iam, 'ci'),
      onDay(14).now(),
      { dryRun: true },
    );
    expect(recorded?.decisions.find((d) => d.accessKeyId === old.ci)?.kind).not.toBe('hold');
  });

  it('rollback pushes the restored key to every target', async () => {
    const result = await rollbackUser(deps(11), config, 'ci');
    expect(result.restoredKeyId).toBe(old.ci);
    expect(github.secret('repo:acme/ci', 'AWS_ACCESS_KEY_ID')).toBe(old.ci);
    expect(github.variable('repo:acme/ci', 'KEYROT_ACCESS_KEY_ID')).toBe(old.ci);
    expect(hook.deliveries.at(-1)?.body.accessKeyId).toBe(old.ci);
    expect(await tags('ci')).toEqual({ 'keyrot:target:ci-hook': old.ci, 'keyrot:target:ci-repo': old.ci });
  });

  it('an abandoned rotation pushes the current key back to the targets that got the pending one', async () => {
    // The webhook refuses every delivery: the rotation stops after GitHub received the pending key.
    hook.fail({ status: 503 }, { times: 100 });
    await expect(rotateUser(deps(), config, 'ci2')).rejects.toThrow(TargetError);
    hook.clearFaults();
    const pending = await stageValue(clients, 'keyrot/ci2', 'AWSPENDING');
    expect(github.variable('repo:acme/ci2', 'KEYROT_ACCESS_KEY_ID')).toBe(pending?.AccessKeyId);

    const out = await runCli('rollback', '--user', 'ci2', '--abandon', '--config', configFile);

    expect(out).toMatchObject({ code: 0 });
    expect(out.stdout).toContain(
      `abandoned the unfinished rotation of ${pending?.AccessKeyId}; ${old.ci2} stays AWSCURRENT in keyrot/ci2 and was pushed back to ci-repo`,
    );
    expect(github.secret('repo:acme/ci2', 'AWS_ACCESS_KEY_ID')).toBe(old.ci2);
    expect(github.variable('repo:acme/ci2', 'KEYROT_ACCESS_KEY_ID')).toBe(old.ci2);
    expect(await stageValue(clients, 'keyrot/ci2', 'AWSPENDING')).toBeUndefined();
    expect((await stageValue(clients, 'keyrot/ci2', 'AWSCURRENT'))?.AccessKeyId).toBe(old.ci2);
  });

  it('keyrot rotate --user pushes to all four target types from the CLI', async () => {
    const out = await runCli('rotate', '--user', 'ci3', '--config', configFile);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const current = await stageValue(clients, 'keyrot/ci3', 'AWSCURRENT');
    expect(current?.AccessKeyId).not.toBe(old.ci3);
    expect(out.stdout).toContain(`ci3: new key ${current?.AccessKeyId} is AWSCURRENT in keyrot/ci3`);
    expect(github.secret('repo:acme/ci3', 'AWS_SECRET_ACCESS_KEY')).toBe(current?.SecretAccessKey);
    expect(gitlab.variable('projects/acme/ci3', 'AWS_ACCESS_KEY_ID')?.value).toBe(current?.AccessKeyId);
    expect(gitlab.variable('projects/acme/ci3', 'AWS_SECRET_ACCESS_KEY')).toMatchObject({
      value: current?.SecretAccessKey,
      masked: true,
    });
    const ssm = new SSMClient({});
    const param = async (name: string) =>
      (await ssm.send(new GetParameterCommand({ Name: `/keyrot/ci3/${name}`, WithDecryption: true })))
        .Parameter;
    expect(await param('AWS_SECRET_ACCESS_KEY')).toMatchObject({
      Type: 'SecureString',
      Value: current?.SecretAccessKey,
    });
    expect(await param('KEYROT_ACCESS_KEY_ID')).toMatchObject({
      Type: 'String',
      Value: current?.AccessKeyId,
    });
    expect(hook.deliveries.at(-1)?.body).toMatchObject({
      type: 'keyrot.key.rotated',
      userName: 'ci3',
      accessKeyId: current?.AccessKeyId,
    });
    // Nothing secret was printed.
    expect(out.stdout).not.toContain(current?.SecretAccessKey ?? '-');
  });
});
