/**
 * npm run bench:rotate — AWS calls per rotation and wall time, on moto, for 100 machine users,
 * sequentially and with bounded concurrency. Two phases per mode:
 *   onboarding: each user has one pre-keyrot key and no secret (secret created, first rotation);
 *   steady:     the pre-keyrot key is gone (as retirement leaves it), so a rotation needs no room.
 */
import { performance } from 'node:perf_hooks';
import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { type CallCounter, createClients, totalCalls } from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { defaultConfig } from '../lib/config.js';
import { rotationDeps } from '../lib/rotation/deps.js';
import { rotateUser } from '../lib/rotation/driver.js';
import { pointAwsAt, resetEmulator, startMoto } from '../lib/testbed/moto.js';
import { type SeededKey, seedUsers } from '../lib/testbed/seed.js';

const USERS = Number(process.env.BENCH_USERS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

interface Row {
  mode: string;
  phase: string;
  calls: CallCounter;
  ms: number;
}

async function phase(names: string[], concurrency: number, mode: string, label: string): Promise<Row> {
  const calls: CallCounter = new Map();
  const deps = rotationDeps(createClients({ callCounter: calls }), systemClock, defaultConfig);
  const start = performance.now();
  await mapLimit(names, concurrency, (name) => rotateUser(deps, defaultConfig, name));
  return { mode, phase: label, calls, ms: performance.now() - start };
}

const emulator = await startMoto();
pointAwsAt(emulator.endpoint, 'bench');
const rows: Row[] = [];
try {
  for (const [mode, concurrency] of [
    ['sequential', 1],
    [`concurrency ${CONCURRENCY}`, CONCURRENCY],
  ] as const) {
    await resetEmulator(emulator.endpoint);
    const admin = createClients();
    const names = Array.from({ length: USERS }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    const seeded: SeededKey[] = await seedUsers(
      admin.iam,
      emulator.endpoint,
      names.map((userName) => ({ userName, path: '/machine/bench/', tags: { owner: 'bench' }, keys: [{}] })),
    );
    rows.push(await phase(names, concurrency, mode, 'onboarding + first rotation'));
    for (const key of seeded)
      await admin.iam.send(
        new DeleteAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId }),
      );
    rows.push(await phase(names, concurrency, mode, 'steady-state rotation'));
  }
} finally {
  await emulator.stop();
}

console.log(
  `keyrot rotation benchmark: ${USERS} machine users, moto 5 on loopback, node ${process.version}\n`,
);
console.log(
  '| mode | phase | AWS calls per rotation | calls by operation (per rotation) | wall time | per rotation | vs sequential |',
);
console.log('|---|---|---:|---|---:|---:|---:|');
let worstSteady = 0;
for (const row of rows) {
  const perRotation = totalCalls(row.calls) / USERS;
  if (row.phase.startsWith('steady')) worstSteady = Math.max(worstSteady, perRotation);
  const ops = [...row.calls.entries()]
    .sort()
    .map(([op, n]) => `${op.replace(/^\w+:/, '')} ${+(n / USERS).toFixed(2)}`)
    .join(', ');
  const sequential = rows.find((r) => r.mode === 'sequential' && r.phase === row.phase);
  const ratio = sequential ? `${(sequential.ms / row.ms).toFixed(1)}× faster` : '-';
  console.log(
    `| ${row.mode} | ${row.phase} | ${perRotation.toFixed(2)} | ${ops} | ${(row.ms / 1000).toFixed(1)} s | ${(row.ms / USERS).toFixed(0)} ms | ${row.mode === 'sequential' ? '1.0×' : ratio} |`,
  );
}
console.log(
  `\nsteady-state rotation: ${worstSteady.toFixed(2)} AWS calls (target ≤ 8; sts:GetCallerIdentity counted once, moto accepts a key at once).`,
);
process.exitCode = worstSteady <= 8 ? 0 : 1;
