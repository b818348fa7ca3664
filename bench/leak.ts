/**
 * npm run bench:leak — the leak response against a plain rotation of the same kind of user with the
 * same target, on moto, the GitHub Actions fake adding 50 ms to every answer:
 *   - time from the event to the new key pushed (GitHub has acknowledged the last write of the push:
 *     both sealed secrets and the fingerprint variable), and to the response's end (the new key
 *     proven and current, every old key deactivated);
 *   - AWS calls and GitHub calls, per response and per rotation.
 * Two paths, each with RUNS users per side, alternating which side goes first:
 *   cold:   the user has no keyrot secret yet (the response onboards it), and every measured run
 *           starts with fresh SDK clients and fresh target adapters (GitHub's public key and the
 *           token are read again). The very first run of the process is shown on its own too.
 *   warm:   the user is managed, its pre-keyrot key gone (as retirement leaves it); clients and
 *           adapters are shared, as within one Lambda container.
 * The plain rotation is rotateUser (what `keyrot rotate --user` and the rotate function's four steps do).
 */
import { performance } from 'node:perf_hooks';
import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type CallCounter, createClients, totalCalls } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { type Config, parseConfig } from '../lib/config.js';
import { parseExposedKeysEvent } from '../lib/leak/event.js';
import { respondToLeak } from '../lib/leak/respond.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { rotateUser } from '../lib/rotation/driver.js';
import type { RotationDeps } from '../lib/rotation/steps.js';
import { pointAwsAt, startMoto } from '../lib/testbed/moto.js';
import { seedUsers } from '../lib/testbed/seed.js';
import { startGithubFake } from '../test/fakes/github.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LATENCY_MS = 50;
const TOKEN = 'bench-token-0123456789';
const PATHS = ['cold', 'warm'] as const;
const SIDES = ['leak', 'plain'] as const;
type Path = (typeof PATHS)[number];
type Side = (typeof SIDES)[number];
const userOf = (path: Path, side: Side, i: number) => `${path}-${side}-${i}`;

interface Run {
  /** Milliseconds from the start to GitHub acknowledging the push's last write. */
  pushedMs: number;
  totalMs: number;
  aws: number;
  github: number;
  /** AWS calls by operation. */
  ops: Map<string, number>;
}

const emulator = await startMoto();
pointAwsAt(emulator.endpoint, 'bench');
const users = [
  ...PATHS.flatMap((path) =>
    SIDES.flatMap((side) => Array.from({ length: RUNS }, (_, i) => userOf(path, side, i))),
  ),
  'warm-up',
];
const github = await startGithubFake({ token: TOKEN, repositories: users.map((u) => `bench/${u}`) });

/** A fetch that notes when GitHub acknowledged the fingerprint variable, the last write of a push. */
let pushedAt = 0;
let githubCalls = 0;
const timedFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  githubCalls++;
  const method = init?.method ?? 'GET';
  if (String(input).includes('/actions/variables') && (method === 'PATCH' || method === 'POST'))
    pushedAt = performance.now();
  return response;
};

try {
  const clients = createClients();
  await clients.secrets.send(new CreateSecretCommand({ Name: 'keyrot-tokens/github', SecretString: TOKEN }));
  const config: Config = parseConfig(
    {
      users: Object.fromEntries(
        users.map((u) => [
          u,
          {
            targets: [
              {
                type: 'github-actions',
                name: 'ci',
                repository: `bench/${u}`,
                tokenSecretId: 'keyrot-tokens/github',
                apiUrl: github.url,
              },
            ],
          },
        ]),
      ),
    },
    'bench',
  );
  const seeded = await seedUsers(
    clients.iam,
    emulator.endpoint,
    users.map((userName) => ({ userName, path: '/machine/', tags: { owner: 'bench' }, keys: [{}] })),
  );
  const depsWith = (calls: CallCounter) =>
    rotationDeps(createClients({ callCounter: calls }), systemClock, config, {
      targetDeps: { fetch: timedFetch },
    });

  const exposed = new Map(seeded.map((k) => [k.userName, k.accessKeyId]));
  const warmCalls: CallCounter = new Map();
  const warmDeps = depsWith(warmCalls);
  const measure = async (path: Path, side: Side, i: number): Promise<Run> => {
    const user = userOf(path, side, i);
    const calls: CallCounter = path === 'warm' ? warmCalls : new Map();
    const deps: RotationDeps = path === 'warm' ? warmDeps : depsWith(calls);
    const awsBefore = totalCalls(calls);
    const opsBefore = new Map(calls);
    const githubBefore = githubCalls;
    pushedAt = 0;
    const start = performance.now();
    if (side === 'plain') await rotateUser(deps, config, user);
    else {
      const event = parseExposedKeysEvent({
        version: '0',
        id: `bench-${user}`,
        'detail-type': 'AWS Health Event',
        source: 'aws.health',
        account: '123456789012',
        time: new Date().toISOString(),
        detail: {
          service: 'RISK',
          eventTypeCode: 'AWS_RISK_CREDENTIALS_EXPOSED',
          affectedEntities: [{ entityValue: exposed.get(user) }],
        },
      });
      const [outcome] = await respondToLeak(deps, config, event);
      if (outcome?.outcome !== 'rotated')
        throw new Error(`${user}: the response did not rotate (${JSON.stringify(outcome)})`);
    }
    const end = performance.now();
    if (pushedAt === 0) throw new Error(`${user}: no push to GitHub was seen`);
    return {
      pushedMs: pushedAt - start,
      totalMs: end - start,
      aws: totalCalls(calls) - awsBefore,
      github: githubCalls - githubBefore,
      ops: new Map(
        [...calls].map(([op, n]) => [op, n - (opsBefore.get(op) ?? 0)] as const).filter(([, n]) => n > 0),
      ),
    };
  };

  const results: Record<Path, Record<Side, Run[]>> = {
    cold: { leak: [], plain: [] },
    warm: { leak: [], plain: [] },
  };
  const measureAll = async (path: Path) => {
    for (let i = 0; i < RUNS; i++) {
      // Alternate which side goes first, so neither always profits from the other's warm-up.
      const order: Side[] = i % 2 === 0 ? ['leak', 'plain'] : ['plain', 'leak'];
      for (const side of order) results[path][side].push(await measure(path, side, i));
    }
  };
  // Cold first: nothing but the seeding has run in this process yet.
  github.latencyMs = LATENCY_MS;
  await measureAll('cold');

  // Warm users are managed: onboarded (latency off: setup is not measured), pre-keyrot key deleted.
  github.latencyMs = 0;
  for (const user of users.filter((u) => u.startsWith('warm-'))) {
    const { accessKeyId } = await rotateUser(warmDeps, config, user);
    await clients.iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: exposed.get(user) }));
    exposed.set(user, accessKeyId);
  }
  github.latencyMs = LATENCY_MS;
  // The shared clients and adapters have served before, as in a container that has: one unmeasured
  // rotation with the latency on.
  await rotateUser(warmDeps, config, 'warm-up');
  await measureAll('warm');

  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(
    `keyrot leak-response benchmark: moto 5 on loopback, GitHub Actions fake adding ${LATENCY_MS} ms to every answer, node ${process.version}, median of ${RUNS} per row\n`,
  );
  console.log(
    '| path | event → new key pushed: leak | plain rotation | ratio | to the end: leak | plain rotation | ratio | AWS calls: leak / plain | GitHub calls: leak / plain |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const rows: Array<[string, Run[], Run[]]> = [
    ['cold: first run of the process', results.cold.leak.slice(0, 1), results.cold.plain.slice(0, 1)],
    ['cold: onboarding, fresh clients', results.cold.leak, results.cold.plain],
    ['warm: managed user, shared clients', results.warm.leak, results.warm.plain],
  ];
  for (const [label, leak, plain] of rows) {
    const pushLeak = median(leak.map((r) => r.pushedMs));
    const pushPlain = median(plain.map((r) => r.pushedMs));
    const endLeak = median(leak.map((r) => r.totalMs));
    const endPlain = median(plain.map((r) => r.totalMs));
    console.log(
      `| ${label} | ${ms(pushLeak)} | ${ms(pushPlain)} | ${(pushLeak / pushPlain).toFixed(2)}× | ${ms(endLeak)} | ${ms(endPlain)} | ${(endLeak / endPlain).toFixed(2)}× | ${median(leak.map((r) => r.aws))} / ${median(plain.map((r) => r.aws))} | ${median(leak.map((r) => r.github))} / ${median(plain.map((r) => r.github))} |`,
    );
  }
  const opsOf = (run: Run | undefined) =>
    [...(run?.ops ?? [])]
      .sort()
      .map(([op, n]) => `${op.replace(/^\w+:/, '')} ${n}`)
      .join(', ');
  console.log('\n| AWS calls by operation | leak response | plain rotation |');
  console.log('|---|---|---|');
  for (const path of PATHS)
    console.log(
      `| ${path} (last run) | ${opsOf(results[path].leak.at(-1))} | ${opsOf(results[path].plain.at(-1))} |`,
    );
  console.log(
    '\n"cold: first run of the process" is the first measured run of each side, with fresh clients: the leak response ran first, when only the seeding had run in the process; the plain rotation ran right after it.',
  );
} finally {
  await github.close();
  await emulator.stop();
}
