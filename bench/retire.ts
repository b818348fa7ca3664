/**
 * npm run bench:retire — AWS calls and wall time of one retirement run, on moto.
 * Seeds 1,000 onboarded machine users (one key, held by AWSCURRENT of keyrot/<user>), 10 of which
 * also hold an older key that the rotation replaced. Each run starts from a freshly seeded account, so
 * the credential report is generated (STARTED, then COMPLETE), as on the daily Lambda: IAM reuses a
 * report for 4 hours only. Compares:
 * - "every machine user": what retirement did before (ListUsers, then every machine user's secret,
 *   versions and keys), kept here to measure against;
 * - "selected": retireAccount, which selects users from the inventory first.
 * Both run twice: 3 days after the cut-over (nothing due: the keys are only looked at) and 8 days
 * after (the replaced keys are deactivated).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type CallCounter, createClients, totalCalls } from '../lib/aws/clients.js';
import { DAY_MS, simulatedClock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { defaultConfig } from '../lib/config.js';
import { machineUsers, retireAccount, retireUser } from '../lib/retirement/retire.js';
import { TAG } from '../lib/secret/secret.js';
import { formatSecretValue } from '../lib/secret/value.js';
import { pointAwsAt, resetEmulator, startMoto } from '../lib/testbed/moto.js';

const USERS = Number(process.env.BENCH_USERS ?? 1000);
const RETIRING = Number(process.env.BENCH_RETIRING ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'every machine user,selected').split(',') as Mode[];
const ACCOUNT = '123456789012';

/** Seeds the account; returns the time of the cut-over. */
async function seed(): Promise<Date> {
  const { iam, secrets } = createClients();
  const cutover = new Date();
  const step = Math.max(1, Math.floor(USERS / RETIRING));
  await mapLimit(
    Array.from({ length: USERS }, (_, i) => i),
    8,
    async (i) => {
      const UserName = `bench-${String(i).padStart(5, '0')}`;
      await iam.send(new CreateUserCommand({ UserName, Path: '/machine/bench/' }));
      // The replaced key comes first, as it would have.
      if (i % step === 0 && i < step * RETIRING) await iam.send(new CreateAccessKeyCommand({ UserName }));
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName }));
      const token = randomUUID();
      await secrets.send(
        new CreateSecretCommand({
          Name: `${defaultConfig.secretPrefix}${UserName}`,
          ClientRequestToken: token,
          SecretString: formatSecretValue({
            Version: 1,
            AccessKeyId: AccessKey?.AccessKeyId ?? '',
            SecretAccessKey: AccessKey?.SecretAccessKey ?? '',
            UserName,
            CreatedAt: cutover.toISOString(),
          }),
          Tags: [
            { Key: TAG.user, Value: UserName },
            { Key: TAG.userArn, Value: `arn:aws:iam::${ACCOUNT}:user/machine/bench/${UserName}` },
            { Key: TAG.cutover, Value: `${token} ${cutover.toISOString()}` },
          ],
        }),
      );
    },
  );
  return cutover;
}

type Mode = 'every machine user' | 'selected';

interface Sample {
  calls: number;
  byOperation: CallCounter;
  ms: number;
  usersRead: number;
  deactivated: number;
}

async function run(mode: Mode, at: Date, dryRun: boolean): Promise<Sample> {
  const counter: CallCounter = new Map();
  const deps = { clients: createClients({ callCounter: counter }), clock: simulatedClock(at) };
  const start = performance.now();
  let results: Array<{ userName: string } & ({ applied: Array<{ kind: string }> } | { error: unknown })>;
  if (mode === 'selected') {
    results = (await retireAccount(deps, defaultConfig, at, { dryRun })).results;
  } else {
    results = [];
    for (const user of await machineUsers(deps, defaultConfig)) {
      const result = await retireUser(deps, defaultConfig, user, at, { dryRun });
      if (result) results.push(result);
    }
  }
  const ms = performance.now() - start;
  const failed = results.filter((r) => 'error' in r);
  if (failed.length > 0) throw new Error(`${failed.length} user(s) failed: ${String(failed[0])}`);
  return {
    calls: totalCalls(counter),
    byOperation: counter,
    ms,
    usersRead: results.length,
    deactivated: results.reduce(
      (n, r) => n + ('applied' in r ? r.applied.filter((d) => d.kind === 'deactivate').length : 0),
      0,
    ),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const emulator = await startMoto();
pointAwsAt(emulator.endpoint, 'bench');
const rows: Array<{ mode: Mode; day: number; samples: Sample[] }> = [];
try {
  for (const mode of MODES) {
    for (const day of [3, 8]) {
      const samples: Sample[] = [];
      for (let r = 0; r < RUNS; r++) {
        await resetEmulator(emulator.endpoint);
        process.stderr.write(`${mode}, day ${day}, run ${r + 1}/${RUNS}: seeding ${USERS} users...\n`);
        const cutover = await seed();
        samples.push(await run(mode, new Date(cutover.getTime() + day * DAY_MS), false));
      }
      rows.push({ mode, day, samples });
    }
  }
} finally {
  await emulator.stop();
}

console.log(
  `keyrot retire benchmark: ${USERS} machine users, ${RETIRING} holding a replaced key; moto 5 on loopback, fresh credential report each run, median of ${RUNS} runs, node ${process.version}\n`,
);
console.log(
  '| selection | day after cut-over | users read | deactivated | AWS calls | calls by operation | wall time |',
);
console.log('|---|---:|---:|---:|---:|---|---:|');
for (const row of rows) {
  const last = row.samples[row.samples.length - 1];
  if (!last) continue;
  const ops = [...last.byOperation.entries()]
    .sort()
    .map(([op, n]) => `${op.replace(/^\w+:/, '')} ${n}`)
    .join(', ');
  console.log(
    `| ${row.mode} | ${row.day} | ${last.usersRead} | ${last.deactivated} | ${median(row.samples.map((s) => s.calls))} | ${ops} | ${Math.round(median(row.samples.map((s) => s.ms)))} ms |`,
  );
}
const selectedIdle = rows.find((r) => r.mode === 'selected' && r.day === 3);
const idleCalls = median(selectedIdle?.samples.map((s) => s.calls) ?? []);
const target = 4 + 5 * RETIRING + Math.ceil(USERS / 100);
console.log(
  `\nselected, nothing due: ${idleCalls} calls; target about 4 + 5 × ${RETIRING}, plus one ListSecrets page per 100 secrets = ${target}.`,
);
const ok = selectedIdle === undefined || idleCalls <= target;
console.log(ok ? 'target met' : 'TARGET MISSED');
process.exitCode = ok ? 0 : 1;
