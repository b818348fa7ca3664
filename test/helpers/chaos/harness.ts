import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY_MS } from '../../../lib/clock.js';
import { resetEmulator } from '../../../lib/testbed/moto.js';
import { runCli } from '../cli.js';
import { armCrash, disarm } from './faults.js';
import {
  brokenUsers,
  INVARIANTS,
  type Invariant,
  keyrotStepViolations,
  leakedSecrets,
  type Violation,
} from './invariants.js';
import { MACHINE_USERS, type MachineUser, type UserName, type World, type WorldView } from './world.js';

/** The chaos config: defaults, except what makes the run fast and `--due` reachable. */
export const CHAOS_POLICY = { maxKeyAgeDays: 14, idleDaysBeforeDeactivate: 3 } as const;

/** The chaos config file, and the file that sets moto's clock (see moto-clock/sitecustomize.py). */
export interface ChaosFiles {
  config: string;
  clock: string;
}

export function writeChaosFiles(): ChaosFiles {
  const dir = mkdtempSync(join(tmpdir(), 'keyrot-chaos-'));
  const files = { config: join(dir, 'keyrot.chaos.json'), clock: join(dir, 'moto-clock-offset') };
  writeFileSync(
    files.config,
    JSON.stringify({ policy: CHAOS_POLICY, rotation: { propagationTimeoutSeconds: 10 } }, null, 2),
  );
  setMotoOffset(files, 0);
  return files;
}

/** Moves moto's clock to the real time plus `offsetMs`. */
export function setMotoOffset(files: ChaosFiles, offsetMs: number): void {
  writeFileSync(files.clock, String(offsetMs / 1000));
}

/** Where the moto clock module lives: start the chaos test's moto with it on PYTHONPATH. */
export const MOTO_CLOCK_DIR = fileURLToPath(new URL('./moto-clock', import.meta.url));

/** A consumer: some system holding one key of one machine user (undefined: it has none yet). */
export interface Consumer {
  user: MachineUser;
  keyId: string | undefined;
}

/**
 * What the test knows and decides: how far the simulated time runs ahead of the real time (keyrot's
 * `--now` and moto's clock alike), and which consumer holds which key.
 */
export interface ChaosModel {
  offsetMs: number;
  consumers: Consumer[];
}

export const simulatedNow = (model: ChaosModel) => new Date(Date.now() + model.offsetMs);

/** Counts what each run did, so the CI run can prove that every kind of action happened. */
export const counters = new Map<string, number>();
export const count = (name: string) => counters.set(name, (counters.get(name) ?? 0) + 1);

/** Invariants named in a comma-separated list (CHAOS_SKIP=health-reported,...), checked. */
export function invariantList(text: string | undefined): Set<Invariant> {
  const names = (text ?? '').split(',').filter(Boolean);
  for (const name of names)
    if (!(INVARIANTS as readonly string[]).includes(name))
      throw new Error(`CHAOS_SKIP: unknown invariant ${name}; known: ${INVARIANTS.join(', ')}`);
  return new Set(names as Invariant[]);
}

export class InvariantViolation extends Error {
  constructor(
    readonly step: string,
    readonly violations: Violation[],
    readonly trace: string[],
  ) {
    super(
      `after ${step}:\n${violations.map((v) => `  [${v.invariant}] ${v.detail}`).join('\n')}\nsteps so far:\n${trace.map((t) => `  ${t}`).join('\n')}`,
    );
    this.name = 'InvariantViolation';
  }
}

/** A keyrot command as the chaos test runs it: its arguments, and what it is allowed to do. */
export interface KeyrotCall {
  label: string;
  argv(model: ChaosModel): string[];
  /** The user a `rotate --compromised` names. */
  emergencyUser?: UserName;
}

/** The real side: the account, its last reading, and what happened so far. */
export class ChaosReal {
  view!: WorldView;
  readonly trace: string[] = debugTrace();

  constructor(
    readonly world: World,
    readonly files: ChaosFiles,
    /** Invariants left out of this run. */
    private readonly skip: ReadonlySet<Invariant>,
  ) {}

  static async start(
    world: World,
    files: ChaosFiles,
    skip: ReadonlySet<Invariant> = new Set(),
  ): Promise<{ model: ChaosModel; real: ChaosReal }> {
    setMotoOffset(files, 0);
    await resetEmulator(world.endpoint);
    const seeded = await world.seed();
    const real = new ChaosReal(world, files, skip);
    count('runs');
    real.trace.push('a new run: account seeded');
    // Consumers of the keys from before keyrot use them once, so IAM knows they are in use.
    const consumers: Consumer[] = MACHINE_USERS.flatMap((user) => [
      { user, keyId: seeded[user][0] },
      { user, keyId: seeded[user][1] ?? seeded[user][0] },
    ]);
    for (const id of new Set(consumers.map((c) => c.keyId))) if (id) await world.use(id);
    real.view = await world.read();
    return { model: { offsetMs: 0, consumers }, real };
  }

  private fail(step: string, violations: Violation[]): void {
    const kept = violations.filter((v) => !this.skip.has(v.invariant));
    if (kept.length > 0) throw new InvariantViolation(step, kept, this.trace);
  }

  private async cli(model: ChaosModel, argv: string[]) {
    const now = simulatedNow(model);
    const result = await runCli(...argv, '--now', now.toISOString(), '--config', this.files.config);
    return { ...result, now, output: `${result.stdout}${result.stderr}` };
  }

  /**
   * Runs one keyrot command (crashed after its k-th AWS call when `crashAfter` is set) and checks
   * every invariant on the account before and after it. Returns its exit code, or 'crashed'.
   */
  async keyrot(model: ChaosModel, call: KeyrotCall, crashAfter?: number): Promise<number | 'crashed'> {
    const before = this.view;
    const started = Date.now();
    if (crashAfter !== undefined) armCrash(crashAfter);
    let result: Awaited<ReturnType<ChaosReal['cli']>>;
    let crashed = false;
    try {
      result = await this.cli(model, call.argv(model));
    } finally {
      if (crashAfter !== undefined) crashed = disarm().crashed;
    }
    const after = await this.world.read();
    this.view = after;
    const label = `${crashed ? `crash after call ${crashAfter}: ` : ''}keyrot ${call.argv(model).join(' ')}`;
    this.trace.push(
      `${label} -> ${crashed ? 'crashed' : `exit ${result.code}`} (${Date.now() - started} ms): ${firstLine(result.output)}`,
    );
    const violations = [
      ...keyrotStepViolations(before, after, {
        now: result.now,
        idleDaysBeforeDeactivate: CHAOS_POLICY.idleDaysBeforeDeactivate,
        crashed,
        ...(call.emergencyUser ? { emergencyUser: call.emergencyUser } : {}),
      }),
      ...leakedSecrets(result.output, this.world.secretKeys),
    ];
    this.fail(label, violations);
    await this.health(model, label);
    return crashed ? 'crashed' : result.code;
  }

  /** A hand edit: done, re-read, and the broken users it leaves must be reported by `keyrot status`. */
  async handEdit(model: ChaosModel, label: string, edit: () => Promise<void>): Promise<void> {
    await edit();
    this.view = await this.world.read();
    this.trace.push(`hand edit: ${label}`);
    await this.health(model, `hand edit: ${label}`);
  }

  /** `keyrot status` as a health check: never fails as a whole, and names every broken machine user. */
  async health(model: ChaosModel, step: string): Promise<void> {
    if (this.skip.has('health-reported')) return;
    const violations: Violation[] = [];
    const all = await this.cli(model, ['status']);
    violations.push(...leakedSecrets(all.output, this.world.secretKeys));
    const broken = brokenUsers(this.view);
    if (all.code === 1 || (broken.length > 0 && all.code === 0))
      violations.push({
        invariant: 'health-reported',
        detail: `keyrot status exited ${all.code} with ${broken.length === 0 ? 'no broken user' : `broken users ${broken.map((u) => u.name).join(', ')}`}: ${firstLine(all.output)}`,
      });
    for (const user of broken) {
      const one = await this.cli(model, ['status', '--user', user.name]);
      violations.push(...leakedSecrets(one.output, this.world.secretKeys));
      if (one.code === 0 || one.code === 1)
        violations.push({
          invariant: 'health-reported',
          detail: `keyrot status --user ${user.name} exited ${one.code}, but ${user.name} is broken (${user.why ?? '?'})`,
        });
    }
    this.fail(`${step}, then keyrot status`, violations);
  }

  /** A consumer uses its key; if that key no longer works it fetches AWSCURRENT, as the README says. */
  async use(model: ChaosModel, index: number): Promise<string> {
    const consumer = model.consumers[index];
    if (consumer === undefined) return 'no such consumer';
    const keys = this.view[consumer.user].keys;
    const works = (id: string | undefined) =>
      id !== undefined && keys.some((k) => k.id === id && k.status === 'Active');
    let outcome = 'used its key';
    if (!works(consumer.keyId)) {
      const current = this.view[consumer.user].secret?.current;
      if (current?.kind === 'credential' && works(current.accessKeyId)) {
        consumer.keyId = current.accessKeyId;
        outcome = 'fetched AWSCURRENT and used it';
      } else {
        this.trace.push(`consumer ${index} of ${consumer.user}: has no working key`);
        return 'failed';
      }
    }
    const id = consumer.keyId as string;
    await this.world.use(id);
    this.view = { ...this.view, [consumer.user]: await this.world.readUser(consumer.user) };
    this.trace.push(`consumer ${index} of ${consumer.user}: ${outcome} (${id})`);
    return 'used';
  }

  /** A consumer restarts and fetches AWSCURRENT. */
  refresh(model: ChaosModel, index: number): boolean {
    const consumer = model.consumers[index];
    const current = consumer ? this.view[consumer.user].secret?.current : undefined;
    if (consumer === undefined || current?.kind !== 'credential') return false;
    consumer.keyId = current.accessKeyId;
    this.trace.push(`consumer ${index} of ${consumer.user}: fetched AWSCURRENT (${current.accessKeyId})`);
    return true;
  }

  advance(model: ChaosModel, ms: number): void {
    model.offsetMs += ms;
    setMotoOffset(this.files, model.offsetMs);
    this.trace.push(`time passes: +${Math.round(ms / 60_000)} min`);
  }
}

function firstLine(text: string): string {
  const line =
    text
      .trim()
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export const days = (n: number) => n * DAY_MS;

/** The steps of a run; with CHAOS_DEBUG=1 each is also printed as it happens, with the real time. */
function debugTrace(): string[] {
  const trace: string[] = [];
  if (!process.env.CHAOS_DEBUG) return trace;
  const push = trace.push.bind(trace);
  trace.push = (...items: string[]) => {
    for (const item of items) process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${item}\n`);
    return push(...items);
  };
  return trace;
}
