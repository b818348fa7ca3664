import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { createSecretInput } from '../../lib/secret/secret.js';
import { signWith } from '../../lib/testbed/seed.js';
import { type FakeWorkflow, type GithubFake, startGithubFake } from '../fakes/github.js';
import { runCli } from '../helpers/cli.js';
import { startFakeSlack } from '../helpers/fake-slack.js';

/**
 * Issue 11's "done when": an owner whose user has a `slack-channel` tag gets a Slack message for every
 * event worth an alert, once per remind window. Users `svc` and `svc2` carry `slack-channel: team`;
 * nothing else routes to Slack (no default channel). Each event is produced where it happens:
 * - the CLI (as `keyrot` run by a person, on moto, days simulated with --now): a rotation whose
 *   redeploy fails, retirement holding the old key (then escalating), deactivating and deleting it,
 *   a rollback, an emergency rotation, and retirement finding a user broken (its current key deleted
 *   by hand);
 * - the scan function's handler: the digest, and drift (a target added after the last rotation);
 * - the rotate function's handler, driven as Secrets Manager does: a failed step (no free key slot),
 *   and a target refusing the new key.
 * Every driver then runs again inside the remind window, and Slack hears nothing more. The ledger is a
 * DynamoDB table on moto; GitHub and Slack are the loopback fakes.
 */
const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const TABLE = 'keyrot-test-alert-ledger';
const DAY0 = new Date(Date.now() - 3 * DAY_MS);
const day = (n: number) => new Date(DAY0.getTime() + n * DAY_MS).toISOString();
const ROTATE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-test-rotate';
const context = {
  functionName: 'keyrot-test',
  awsRequestId: 'every-kind',
  invokedFunctionArn: ROTATE_ARN,
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const GITHUB_TOKEN = 'github_pat_every_kind_0123456789';

let slack: Awaited<ReturnType<typeof startFakeSlack>>;
let github: GithubFake;
let cliConfig = '';
/** The deploy workflow has no workflow_dispatch trigger yet: the first redeploy fails. */
const deployWorkflow: FakeWorkflow = { id: 7, file: 'deploy.yml', dispatch: false };
let functionConfig = '';

/** What Slack received since `from`, as "severity kind" headers. */
const heard = (from = 0) =>
  slack.received
    .slice(from)
    .map((r) => `${r.token} ${(r.payload.blocks?.[0]?.text as { text: string } | undefined)?.text}`);

/** The CLI with the test's config; it must exit with `code` (5: a user is broken). */
async function cliExits(code: number, ...argv: string[]) {
  const run = await runCli(...argv, '--config', cliConfig);
  expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(code);
  return run;
}
const cli = (...argv: string[]) => cliExits(0, ...argv);

/** A function's handler, as Lambda runs it, with the functions' JSON config. */
async function invoke(fn: 'scan' | 'rotate', event: unknown) {
  vi.resetModules();
  vi.stubEnv('KEYROT_CONFIG_FILE', functionConfig);
  const { handler } = (await import(
    fn === 'scan' ? '../../functions/scan.js' : '../../functions/rotate.js'
  )) as {
    handler: (event: unknown, context: Context) => Promise<unknown>;
  };
  return handler(event, context).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
}

beforeAll(async () => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await new DynamoDBClient({ region: 'us-east-1' }).send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'subject', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }],
    }),
  );
  vi.stubEnv('ALERT_LEDGER_TABLE', TABLE);
  vi.stubEnv('KEYROT_STAGE', 'test');
  slack = await startFakeSlack();
  github = await startGithubFake({
    token: GITHUB_TOKEN,
    repositories: ['acme/deploy', 'acme/svc2'],
    workflows: { 'acme/deploy': [deployWorkflow] },
  });
  await clients.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot-slack/team', SecretString: slack.url('ok-team') }),
  );
  await clients.secrets.send(
    new CreateSecretCommand({ Name: 'keyrot-tokens/github', SecretString: GITHUB_TOKEN }),
  );
  const target = (name: string, repository: string, extra: Record<string, unknown> = {}) => ({
    type: 'github-actions',
    name,
    repository,
    tokenSecretId: 'keyrot-tokens/github',
    apiUrl: github.url,
    ...extra,
  });
  const config = (extraTargets: unknown[]) => ({
    policy: { escalateAfterDays: 9 },
    alerts: {
      remindEveryDays: 7,
      slack: { channels: { team: { webhookSecretId: 'keyrot-slack/team' } } },
    },
    users: {
      svc: {
        targets: [
          target('deploy-repo', 'acme/deploy', { redeploy: { workflow: 'deploy.yml', ref: 'main' } }),
          ...extraTargets,
        ],
      },
      svc2: { targets: [target('svc2-repo', 'acme/svc2')] },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'keyrot-every-kind-'));
  cliConfig = join(dir, 'keyrot.json');
  functionConfig = join(dir, 'function.json');
  await writeFile(cliConfig, JSON.stringify(config([])));
  // The deployed functions know of a target added since svc's last rotation: the scan finds it adrift.
  await writeFile(
    functionConfig,
    JSON.stringify(
      config([
        target('added-later', 'acme/deploy', {
          fingerprintVariable: 'LATER_KEY_ID',
          accessKeyIdName: 'LATER_ID',
          secretAccessKeyName: 'LATER_SECRET',
        }),
      ]),
    ),
  );
  for (const userName of ['svc', 'svc2'])
    await clients.iam.send(
      new CreateUserCommand({
        UserName: userName,
        Path: '/machine/',
        Tags: [
          { Key: 'owner', Value: 'team' },
          { Key: 'slack-channel', Value: 'team' },
        ],
      }),
    );
  // svc can sign in to the console: a finding for the owner's digest.
  await clients.iam.send(
    new CreateLoginProfileCommand({ UserName: 'svc', Password: 'Not-a-real-password-1!' }),
  );
});

afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await slack?.stop();
  await github?.close();
});

describe('an owner whose user has a slack-channel tag', () => {
  it('gets one Slack message for every event worth an alert, and none again inside the remind window', async () => {
    // The CLI. Day 0: svc's key is rotated; the target's redeploy (a workflow without a
    // workflow_dispatch trigger) fails, and the rotation stands.
    const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'svc' }));
    const rotated = await cli('rotate', '--user', 'svc', '--now', day(0));
    expect(rotated.stdout).toMatch(/WARNING: the redeploy of github-actions target "deploy-repo" failed/);
    expect(heard()).toEqual(['ok-team :warning: WARNING · redeploy-failed']);
    // A consumer still on the old key.
    await signWith(endpoint, AccessKey?.AccessKeyId ?? '', AccessKey?.SecretAccessKey ?? '');

    // Days 7-22, the daily retirement: held, escalated (day 9), deactivated once idle for 10 days,
    // deleted 7 days later; between those, nothing.
    let from = slack.received.length;
    const byDay: Array<[number, string]> = [];
    for (let n = 7; n <= 22; n++) {
      const before = slack.received.length;
      await cli('retire', '--now', day(n));
      for (const line of heard(before)) byDay.push([n, line]);
    }
    expect(byDay.map(([, line]) => line)).toEqual([
      'ok-team :warning: WARNING · key-in-use',
      'ok-team :rotating_light: CRITICAL · key-in-use',
      'ok-team :information_source: INFO · key-deactivated',
      'ok-team :information_source: INFO · key-deleted',
    ]);
    expect(byDay.slice(0, 2).map(([n]) => n)).toEqual([7, 9]);

    // Day 22: the workflow is fixed, svc rotates (the redeploy runs: no alert), a rollback, then an
    // emergency rotation.
    const workflow = github.dispatches.length;
    from = slack.received.length;
    deployWorkflow.dispatch = true;
    await cli('rotate', '--user', 'svc', '--now', day(22));
    expect(github.dispatches.slice(workflow)).toEqual([
      { repository: 'acme/deploy', workflow: 'deploy.yml', ref: 'main', inputs: {} },
    ]);
    await cli('rollback', '--user', 'svc', '--now', day(22));
    await cli('rotate', '--user', 'svc', '--compromised', '--now', day(22));
    expect(heard(from)).toEqual([
      'ok-team :warning: WARNING · rollback',
      'ok-team :rotating_light: CRITICAL · emergency-rotation',
    ]);

    // The scan function: the owner's digest (svc can sign in to the console) and the drifted target.
    from = slack.received.length;
    const scan = await invoke('scan', { source: 'aws.events', detail: {} });
    expect(scan).toMatchObject({ result: { targetDrift: 1, alerts: { sent: 2, failed: 0 } } });
    expect(heard(from)).toEqual([
      'ok-team :warning: WARNING · findings',
      'ok-team :warning: WARNING · drift',
    ]);
    // The next scan, inside the remind window, finds the same: nothing new reaches Slack.
    from = slack.received.length;
    expect(await invoke('scan', { source: 'aws.events', detail: {} })).toMatchObject({
      result: { targetDrift: 1, alerts: { sent: 0, deduplicated: 2 } },
    });
    expect(heard(from)).toEqual([]);

    // The rotate function, as Secrets Manager drives it, on svc2 (onboarded, rotation on).
    const keys = [];
    for (let i = 0; i < 2; i++)
      keys.push((await clients.iam.send(new CreateAccessKeyCommand({ UserName: 'svc2' }))).AccessKey);
    const { Arn = '' } = (await clients.iam.send(new GetUserCommand({ UserName: 'svc2' }))).User ?? {};
    await clients.secrets.send(new CreateSecretCommand(createSecretInput(defaultConfig, 'svc2', Arn)));
    // RotateSecret turns rotation on and makes the empty AWSPENDING version whose token Secrets
    // Manager then sends to each step (moto does, through the test shim).
    const token = 'a0000000-0000-4000-8000-000000000001';
    await clients.secrets
      .send(
        new RotateSecretCommand({
          SecretId: 'keyrot/svc2',
          ClientRequestToken: token,
          RotationLambdaARN: ROTATE_ARN,
          RotationRules: { AutomaticallyAfterDays: 90 },
        }),
      )
      .catch(() => undefined);
    from = slack.received.length;
    // No free key slot: createSecret fails, and Secrets Manager retries it.
    const step = (Step: string) =>
      invoke('rotate', { Step, SecretId: 'keyrot/svc2', ClientRequestToken: token });
    expect(await step('createSecret')).toMatchObject({ error: { name: 'KeyLimitError' } });
    expect(await step('createSecret')).toMatchObject({ error: { name: 'KeyLimitError' } });
    // A slot is freed: the retry creates the key. GitHub then refuses it (403) on each of Secrets
    // Manager's retries of setSecret.
    await clients.iam.send(
      new DeleteAccessKeyCommand({ UserName: 'svc2', AccessKeyId: keys[1]?.AccessKeyId ?? '' }),
    );
    expect(await step('createSecret')).toMatchObject({ result: undefined });
    github.fail(
      { status: 403, body: JSON.stringify({ message: 'Resource not accessible by personal access token' }) },
      { times: 20, when: (r) => r.method === 'PUT' },
    );
    expect(await step('setSecret')).toMatchObject({ error: { name: 'TargetError' } });
    expect(await step('setSecret')).toMatchObject({ error: { name: 'TargetError' } });
    expect(heard(from)).toEqual([
      'ok-team :rotating_light: CRITICAL · rotation-failed',
      'ok-team :rotating_light: CRITICAL · target-push-failed',
    ]);

    // Someone deletes svc's current key by hand: retirement finds svc broken and touches none of its
    // keys.
    const { AccessKeyMetadata = [] } = await clients.iam.send(new ListAccessKeysCommand({ UserName: 'svc' }));
    const current = AccessKeyMetadata.find((k) => k.Status === 'Active')?.AccessKeyId ?? '';
    await clients.iam.send(new DeleteAccessKeyCommand({ UserName: 'svc', AccessKeyId: current }));
    from = slack.received.length;
    const broken = await cliExits(5, 'retire', '--now', day(23));
    expect(broken.stderr).toContain(`AWSCURRENT of keyrot/svc holds ${current}, which IAM does not have`);
    expect(heard(from)).toEqual(['ok-team :rotating_light: CRITICAL · user-broken']);

    // Inside the remind window, every driver again: nothing new reaches Slack.
    from = slack.received.length;
    await cliExits(5, 'retire', '--now', day(24));
    await step('setSecret');
    github.clearFaults();
    expect(heard(from)).toEqual([]);

    // Every kind issue 11 lists, each once (a held key twice: held, then escalated), all in the
    // channel svc's tag names, all valid Block Kit and without key material.
    const kinds = heard().map((line) => line.split(' · ')[1]);
    expect(new Set(kinds)).toEqual(
      new Set([
        'redeploy-failed',
        'key-in-use',
        'key-deactivated',
        'key-deleted',
        'rollback',
        'emergency-rotation',
        'findings',
        'drift',
        'rotation-failed',
        'target-push-failed',
        'user-broken',
      ]),
    );
    expect(kinds).toHaveLength(12);
    // What the owner reads is what the builders say (the README shows each one).
    const text = (kind: string) =>
      JSON.stringify(
        slack.received.find((r) => JSON.stringify(r.payload.blocks?.[0]).includes(kind))?.payload,
      );
    expect(text('drift')).toContain('github-actions \\"added-later\\" of svc drifted from the current key');
    expect(text('drift')).toContain('keyrot has not pushed a key there yet');
    expect(text('redeploy-failed')).toContain("Workflow does not have 'workflow_dispatch' trigger");
    expect(slack.problems).toEqual([]);
  });
});
