/**
 * npm run bench:rotate (second part) — targets. On moto, with the provider fakes of test/fakes on
 * loopback:
 *   1. HTTP calls per target per steady-state rotation, for each target type (aws-ssm: SSM calls);
 *   2. wall time of a rotation pushing to 5 GitHub targets against 1, with the fake adding 50 ms to
 *      every answer (median of RUNS rotations each).
 * Targets: GitHub repository scope <= 4 calls; 5 targets <= 1.5x the time of 1.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type CallCounter, createClients } from '../lib/aws/clients.js';
import { ssmPortFactory } from '../lib/aws/ssm.js';
import { systemClock } from '../lib/clock.js';
import { type Config, parseConfig } from '../lib/config.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { rotateUser } from '../lib/rotation/driver.js';
import { pointAwsAt, startMoto } from '../lib/testbed/moto.js';
import { seedUsers } from '../lib/testbed/seed.js';
import { startGithubFake } from '../test/fakes/github.js';
import { startGitlabFake } from '../test/fakes/gitlab.js';
import { startWebhookFake } from '../test/fakes/webhook.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LATENCY_MS = 50;
const TOKEN = 'bench-token-0123456789';
const SIGNING = `whsec_${randomBytes(32).toString('base64')}`;

const emulator = await startMoto();
pointAwsAt(emulator.endpoint, 'bench');
const github = await startGithubFake({
  token: TOKEN,
  repositories: ['bench/one', 'bench/a', 'bench/b', 'bench/c', 'bench/d', 'bench/e', 'bench/calls'],
});
const gitlab = await startGitlabFake({ token: TOKEN, projects: ['bench/calls'] });
const hook = await startWebhookFake({ secret: SIGNING });
const clients = createClients();
const ssmCalls: CallCounter = new Map();

try {
  for (const [name, value] of [
    ['keyrot-tokens/github', TOKEN],
    ['keyrot-tokens/gitlab', TOKEN],
    ['keyrot-tokens/hook', SIGNING],
  ] as const)
    await clients.secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  const gh = (repo: string, name = repo.replace('/', '-')) => ({
    type: 'github-actions',
    name,
    repository: repo,
    tokenSecretId: 'keyrot-tokens/github',
    apiUrl: github.url,
  });
  const config: Config = parseConfig(
    {
      users: {
        'calls-github': { targets: [gh('bench/calls')] },
        'calls-gitlab': {
          targets: [
            {
              type: 'gitlab',
              name: 'gl',
              project: 'bench/calls',
              tokenSecretId: 'keyrot-tokens/gitlab',
              apiUrl: gitlab.url,
            },
          ],
        },
        'calls-webhook': {
          targets: [
            {
              type: 'webhook',
              name: 'hook',
              url: `${hook.url}/hooks/keyrot`,
              signingSecretId: 'keyrot-tokens/hook',
            },
          ],
        },
        'calls-ssm': { targets: [{ type: 'aws-ssm', name: 'ssm', parameterName: '/keyrot/bench' }] },
        'one-target': { targets: [gh('bench/one')] },
        'five-targets': {
          targets: ['bench/a', 'bench/b', 'bench/c', 'bench/d', 'bench/e'].map((r) => gh(r)),
        },
      },
    },
    'bench',
  );
  const users = Object.keys(config.users);
  await seedUsers(
    clients.iam,
    emulator.endpoint,
    users.map((userName) => ({ userName, path: '/machine/', tags: { owner: 'bench' }, keys: [{}] })),
  );
  const deps = rotationDeps(clients, systemClock, config, {
    targetDeps: {
      ssm: ssmPortFactory({ credentials: () => clients.secrets.config.credentials(), callCounter: ssmCalls }),
    },
  });
  /** Rotates, then deletes every key but the new one, as retirement leaves a user (room for the next). */
  const rotate = async (userName: string) => {
    const { accessKeyId } = await rotateUser(deps, config, userName);
    const { AccessKeyMetadata = [] } = await clients.iam.send(
      new ListAccessKeysCommand({ UserName: userName }),
    );
    for (const key of AccessKeyMetadata)
      if (key.AccessKeyId !== accessKeyId)
        await clients.iam.send(
          new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }),
        );
  };
  // Onboarding (the first rotation, which also creates GitHub's variable) is not what is measured.
  for (const user of users) await rotate(user);

  const calls: Array<[string, string, number]> = [];
  const measure = async (type: string, scope: string, user: string, count: () => number) => {
    const before = count();
    await rotate(user);
    calls.push([type, scope, count() - before]);
  };
  const httpTo = (path: string, server: { requests: Array<{ path: string }> }) => () =>
    server.requests.filter((r) => r.path.includes(path)).length;
  await measure('github-actions', 'repository', 'calls-github', httpTo('/bench/calls/', github));
  await measure('gitlab', 'project', 'calls-gitlab', httpTo('/variables', gitlab));
  await measure('webhook', 'url', 'calls-webhook', httpTo('/hooks/keyrot', hook));
  await measure('aws-ssm', 'parameter path', 'calls-ssm', () =>
    [...ssmCalls.values()].reduce((a, b) => a + b, 0),
  );

  github.latencyMs = LATENCY_MS;
  const median = async (user: string) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await rotate(user);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)] ?? 0;
  };
  const one = await median('one-target');
  const five = await median('five-targets');

  console.log(`keyrot target benchmark: moto 5 and loopback provider fakes, node ${process.version}\n`);
  console.log('| target type | scope | HTTP calls per steady-state rotation (push + verify) |');
  console.log('|---|---|---:|');
  for (const [type, scope, n] of calls)
    console.log(`| ${type} | ${scope} | ${n}${type === 'aws-ssm' ? ' (SSM API calls)' : ''} |`);
  console.log(
    `\nWall time of a steady-state rotation, GitHub fake adding ${LATENCY_MS} ms to every answer (median of ${RUNS}):\n`,
  );
  console.log('| targets | wall time | vs 1 target |');
  console.log('|---:|---:|---:|');
  console.log(`| 1 | ${one.toFixed(0)} ms | 1.00× |`);
  console.log(`| 5 | ${five.toFixed(0)} ms | ${(five / one).toFixed(2)}× |`);
  const githubCalls = calls[0]?.[2] ?? Number.POSITIVE_INFINITY;
  const ratio = five / one;
  console.log(
    `\nGitHub repository scope: ${githubCalls} calls (target <= 4): ${githubCalls <= 4 ? 'met' : 'MISSED'}; 5 targets vs 1: ${ratio.toFixed(2)}x (target <= 1.5x): ${ratio <= 1.5 ? 'met' : 'MISSED'}`,
  );
  process.exitCode = githubCalls <= 4 && ratio <= 1.5 ? 0 : 1;
} finally {
  await Promise.all([github.close(), gitlab.close(), hook.close()]);
  await emulator.stop();
}
