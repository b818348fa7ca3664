/**
 * npm run bench:org — organization mode at 10, 50 and 100 member accounts of 100 machine users each,
 * on one moto with Organizations and AssumeRole (request authentication off).
 *
 * For each size, moto is reset and the organization seeded afresh (seeding is timed on its own line).
 * The scheduler lists the organization's accounts and sends one message per account to a real moto
 * SQS queue. The worker is modelled as Lambda's SQS event source mapping with a maximum concurrency
 * of 10 (BENCH_MAX_CONCURRENCY): 10 pollers, each receiving a batch (BENCH_BATCH, default 1),
 * running it through processAccountBatch and runAccount (assume the member role, scan, start due
 * rotations, retire), and deleting what succeeded, until the queue is empty.
 *
 * Each size runs twice. "cold" is the first run in fresh accounts: IAM generates each account's
 * credential report (STARTED, then COMPLETE), as the daily Lambda always finds it, since IAM reuses a
 * report for 4 hours only. "warm" runs again at once and finds the reports COMPLETE.
 *
 * Calls are counted per account on the member side (every client the worker builds for the account)
 * and on the hub side (Organizations, STS AssumeRole, SQS). Wall time is the scheduler's and the
 * worker's, not seeding.
 */
import { performance } from 'node:perf_hooks';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { CreateAccountCommand, CreateOrganizationCommand } from '@aws-sdk/client-organizations';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { accountsToWorkIn } from '../lib/accounts/organization.js';
import { runAccount } from '../lib/accounts/run-account.js';
import { accountMessageBatches, processAccountBatch } from '../lib/accounts/worker.js';
import {
  type CallCounter,
  createClients,
  createOrganizationsClient,
  instrument,
  totalCalls,
} from '../lib/aws/clients.js';
import { systemClock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { defaultConfig } from '../lib/config.js';
import { pointAwsAt, resetEmulator, startMoto } from '../lib/testbed/moto.js';
import { memberClients as seededMemberClients } from '../lib/testbed/org.js';

const SIZES = (process.env.BENCH_ACCOUNTS ?? '10,50,100').split(',').map(Number);
const USERS = Number(process.env.BENCH_USERS ?? 100);
const MAX_CONCURRENCY = Number(process.env.BENCH_MAX_CONCURRENCY ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const HUB = '123456789012';
const ROLE = { path: '/keyrot/', name: 'keyrot-member', externalId: 'bench-org' };

const memberIam = async (accountId: string) => (await seededMemberClients(accountId, ROLE)).iam;

/** An organization of `accounts` member accounts with USERS machine users (one key each) in each. */
async function seed(accounts: number): Promise<void> {
  const org = createOrganizationsClient();
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const ids: string[] = [];
  for (let i = 0; i < accounts; i++) {
    const { CreateAccountStatus } = await org.send(
      new CreateAccountCommand({ AccountName: `team-${i}`, Email: `team-${i}@example.com` }),
    );
    ids.push(CreateAccountStatus?.AccountId ?? '');
  }
  const work = await Promise.all(ids.map(async (id) => ({ iam: await memberIam(id), id }))).then((members) =>
    members.flatMap(({ iam }) => Array.from({ length: USERS }, (_, u) => ({ iam, u }))),
  );
  await mapLimit(work, 8, async ({ iam, u }) => {
    const UserName = `svc-${String(u).padStart(3, '0')}`;
    await iam.send(
      new CreateUserCommand({
        UserName,
        Path: '/machine/',
        Tags: [{ Key: 'owner', Value: `team-${u % 5}` }],
      }),
    );
    await iam.send(new CreateAccessKeyCommand({ UserName }));
  });
}

interface Sample {
  accounts: number;
  ms: number;
  /** Member-side calls of each account. */
  perAccount: number[];
  byOperation: CallCounter;
  hubCalls: number;
  hubByOperation: CallCounter;
  failures: number;
}

/** The scheduler, then the worker over the queue with MAX_CONCURRENCY pollers. */
async function orgRun(queueName: string): Promise<Sample> {
  const hubCounter: CallCounter = new Map();
  const byOperation: CallCounter = new Map();
  const perAccount: number[] = [];
  const hub = createClients({ callCounter: hubCounter });
  const org = createOrganizationsClient({ callCounter: hubCounter });
  const sqs = new SQSClient({});
  instrument(sqs, hubCounter);
  const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  hubCounter.clear();
  let failures = 0;
  const started = performance.now();
  // The scheduler.
  const accounts = await accountsToWorkIn(org, { include: [], exclude: [HUB] });
  for (const Entries of accountMessageBatches(accounts, queueName))
    await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
  // The worker: MAX_CONCURRENCY invocations at a time, each a batch from the queue.
  const poller = async () => {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: BATCH, VisibilityTimeout: 900 }),
      );
      if (Messages.length === 0) return;
      const { response } = await processAccountBatch(
        Messages.map((m) => ({ messageId: m.MessageId ?? '', body: m.Body ?? '' })),
        async (message) => {
          const counter: CallCounter = new Map();
          await runAccount(
            {
              sts: hub.sts,
              clock: systemClock,
              role: ROLE,
              rotateFunctionName: 'keyrot-bench-rotate',
              region: 'us-east-1',
              clientOptions: { callCounter: counter },
            },
            defaultConfig,
            message,
          );
          perAccount.push(totalCalls(counter));
          for (const [op, n] of counter) byOperation.set(op, (byOperation.get(op) ?? 0) + n);
        },
        BATCH,
      );
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      failures += failed.size;
      const done = Messages.filter((m) => !failed.has(m.MessageId ?? ''));
      if (done.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
    }
  };
  await Promise.all(Array.from({ length: MAX_CONCURRENCY }, poller));
  const ms = performance.now() - started;
  sqs.destroy();
  return {
    accounts: accounts.length,
    ms,
    perAccount,
    byOperation,
    hubCalls: totalCalls(hubCounter),
    hubByOperation: hubCounter,
    failures,
  };
}

// Without AWS's managed policies: moto would load ~1,000 of them into each account it first sees.
const emulator = await startMoto({ managedPolicies: false });
pointAwsAt(emulator.endpoint, 'bench');
const rows: Array<{ size: number; seedMs: number; cold: Sample; warm: Sample }> = [];
try {
  for (const size of SIZES) {
    await resetEmulator(emulator.endpoint);
    await fetch(`${emulator.endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
    const t = performance.now();
    await seed(size);
    const seedMs = performance.now() - t;
    console.error(`seeded ${size} accounts x ${USERS} users in ${(seedMs / 1000).toFixed(1)} s`);
    const cold = await orgRun(`keyrot-bench-${size}-cold`);
    const warm = await orgRun(`keyrot-bench-${size}-warm`);
    console.error(
      `ran ${size}: cold ${(cold.ms / 1000).toFixed(1)} s, warm ${(warm.ms / 1000).toFixed(1)} s`,
    );
    rows.push({ size, seedMs, cold, warm });
  }
} finally {
  await emulator.stop();
}

const base = rows[0];
const range = (xs: number[]) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
};
console.log(
  `\nOrganization mode on moto: ${USERS} machine users per account, worker max concurrency ${MAX_CONCURRENCY}, batch ${BATCH}.\n`,
);
console.log(
  '| accounts | run | member calls per account | hub calls | total calls | failed messages | wall time | vs 10 accounts (same run) | seeding (not timed above) |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const { size, seedMs, cold, warm } of rows) {
  for (const [name, s, b] of [
    ['cold (reports generated)', cold, base?.cold],
    ['warm (reports reused)', warm, base?.warm],
  ] as const) {
    const total = s.perAccount.reduce((n, c) => n + c, 0) + s.hubCalls;
    const ratio = b ? s.ms / b.ms : 1;
    console.log(
      `| ${s.accounts} | ${name} | ${range(s.perAccount)} | ${s.hubCalls} | ${total} | ${s.failures} | ${(s.ms / 1000).toFixed(1)} s | ${ratio.toFixed(2)}× for ${(s.accounts / (b?.accounts ?? s.accounts)).toFixed(0)}× the accounts | ${name.startsWith('cold') ? `${(seedMs / 1000).toFixed(0)} s` : ''} |`,
    );
  }
  void size;
}
const last = rows.at(-1);
for (const [name, s] of [
  ['cold', last?.cold],
  ['warm', last?.warm],
] as const) {
  if (s === undefined) continue;
  const ops = [...s.byOperation.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${n / s.accounts}`)
    .join(', ');
  const hubOps = [...s.hubByOperation.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  console.log(`\n${name}, per account: ${ops}\n${name}, hub: ${hubOps}`);
}
const constant = rows.every(
  (r) => new Set(r.cold.perAccount).size === 1 && new Set(r.warm.perAccount).size === 1,
);
const sameAcrossSizes =
  new Set(rows.map((r) => r.cold.perAccount[0])).size === 1 &&
  new Set(rows.map((r) => r.warm.perAccount[0])).size === 1;
const linear = rows.every(
  (r) => base === undefined || r.cold.ms / base.cold.ms <= (r.cold.accounts / base.cold.accounts) * 1.1,
);
const noFailures = rows.every((r) => r.cold.failures === 0 && r.warm.failures === 0);
console.log(
  `\ncalls per account constant: ${constant && sameAcrossSizes ? 'yes' : 'NO'}; wall time linear or better (within 10%): ${linear ? 'yes' : 'NO'}; failed messages: ${noFailures ? 'none' : 'SOME'}`,
);
process.exitCode = constant && sameAcrossSizes && linear && noFailures ? 0 : 1;
