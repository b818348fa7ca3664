/**
 * npm run bench:scan — AWS calls and wall time of an account scan, per inventory strategy, on moto.
 * Seeds 10 and then 1,000 machine users with 2 keys each (every tenth key used, every fourth user
 * with one inactive key), then scans each account with both strategies.
 */
import { performance } from 'node:perf_hooks';
import { CreateAccessKeyCommand, CreateUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { type CallCounter, createClients, totalCalls } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { defaultConfig } from '../lib/config.js';
import type { InventoryStrategy } from '../lib/inventory/types.js';
import { scanAccount } from '../lib/scan.js';
import { pointAwsAt, resetEmulator, startMoto } from '../lib/testbed/moto.js';
import { signWith } from '../lib/testbed/seed.js';

const SIZES = (process.env.BENCH_SIZES ?? '10,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function seed(endpoint: string, users: number): Promise<number> {
  const { iam } = createClients();
  let keys = 0;
  await mapLimit(
    Array.from({ length: users }, (_, i) => i),
    8,
    async (i) => {
      const UserName = `bench-${String(i).padStart(5, '0')}`;
      await iam.send(
        new CreateUserCommand({
          UserName,
          Path: '/machine/bench/',
          Tags: [{ Key: 'owner', Value: 'bench' }],
        }),
      );
      for (let k = 0; k < 2; k++) {
        const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName }));
        keys++;
        const id = AccessKey?.AccessKeyId ?? '';
        if ((i * 2 + k) % 10 === 0) await signWith(endpoint, id, AccessKey?.SecretAccessKey ?? '');
        if (k === 0 && i % 4 === 0)
          await iam.send(new UpdateAccessKeyCommand({ UserName, AccessKeyId: id, Status: 'Inactive' }));
      }
    },
  );
  return keys;
}

interface Row {
  users: number;
  keys: number;
  strategy: InventoryStrategy;
  calls: number;
  byOperation: Record<string, number>;
  medianMs: number;
}

async function measure(users: number, keys: number, strategy: InventoryStrategy): Promise<Row> {
  const times: number[] = [];
  let counter: CallCounter = new Map();
  for (let run = 0; run < RUNS; run++) {
    counter = new Map();
    const clients = createClients({ callCounter: counter });
    const start = performance.now();
    const result = await scanAccount({ clients, clock: systemClock }, defaultConfig, new Date(), strategy);
    times.push(performance.now() - start);
    if (result.inventory.users.length !== users)
      throw new Error(`expected ${users} users, read ${result.inventory.users.length}`);
  }
  times.sort((a, b) => a - b);
  return {
    users,
    keys,
    strategy,
    calls: totalCalls(counter),
    byOperation: Object.fromEntries([...counter.entries()].sort()),
    medianMs: times[Math.floor(times.length / 2)] ?? 0,
  };
}

const emulator = await startMoto();
pointAwsAt(emulator.endpoint, 'bench');
const rows: Row[] = [];
try {
  for (const users of SIZES) {
    await resetEmulator(emulator.endpoint);
    process.stderr.write(`seeding ${users} users...\n`);
    const keys = await seed(emulator.endpoint, users);
    for (const strategy of ['report', 'exact'] as const) rows.push(await measure(users, keys, strategy));
  }
} finally {
  await emulator.stop();
}

const find = (users: number, strategy: InventoryStrategy) =>
  rows.find((r) => r.users === users && r.strategy === strategy);
console.log(`keyrot scan benchmark: moto 5 on loopback, median of ${RUNS} runs, node ${process.version}\n`);
console.log('| users | keys | strategy | AWS calls | calls by operation | wall time | time vs report |');
console.log('|---:|---:|---|---:|---|---:|---:|');
for (const row of rows) {
  const base = find(row.users, 'report');
  const ops = Object.entries(row.byOperation)
    .map(([op, n]) => `${op.replace(/^\w+:/, '')} ${n}`)
    .join(', ');
  const ratio = base ? (row.medianMs / base.medianMs).toFixed(1) : '-';
  console.log(
    `| ${row.users} | ${row.keys} | ${row.strategy} | ${row.calls} | ${ops} | ${Math.round(row.medianMs)} ms | ${ratio}× |`,
  );
}
const [small, large] = [Math.min(...SIZES), Math.max(...SIZES)];
const reportSmall = find(small, 'report');
const reportLarge = find(large, 'report');
const exactLarge = find(large, 'exact');
if (reportSmall && reportLarge && exactLarge) {
  console.log(
    `\nreport strategy: ${reportSmall.calls} calls at ${small} users, ${reportLarge.calls} at ${large} users.`,
  );
  console.log(
    `exact / report calls at ${large} users: ${(exactLarge.calls / reportLarge.calls).toFixed(0)}× (target ≥ 100×).`,
  );
  const ok = reportLarge.calls <= reportSmall.calls && exactLarge.calls >= 100 * reportLarge.calls;
  console.log(ok ? 'targets met' : 'TARGETS MISSED');
  process.exitCode = ok ? 0 : 1;
}
