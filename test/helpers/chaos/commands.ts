import fc from 'fast-check';
import { type ChaosModel, type ChaosReal, count, days, type KeyrotCall } from './harness.js';
import { arnOf, HUMAN, MACHINE_USERS, type MachineUser, USERS, type UserName } from './world.js';

type Command = fc.AsyncCommand<ChaosModel, ChaosReal, false>;

/** Every kind of action a run can take; the CI run asserts each happened at least once. */
export const ACTION_KINDS = [
  'rotate',
  'rotate --due',
  'rotate --compromised',
  'rollback',
  'retire',
  'time passes',
  'consumer uses its key',
  'consumer fetches AWSCURRENT',
  'hand: deactivate a key',
  'hand: delete a key',
  'hand: put a version with a missing key as AWSCURRENT',
  "hand: put another user's key as AWSCURRENT",
  'hand: put garbage as AWSCURRENT',
  'hand: re-tag a secret',
  'hand: forge a secret for the human',
  'crash, then re-run',
] as const;
type ActionKind = (typeof ACTION_KINDS)[number];

abstract class Action implements Command {
  abstract readonly kind: ActionKind;
  check(): boolean {
    count('steps');
    return true;
  }
  abstract run(model: ChaosModel, real: ChaosReal): Promise<void>;
  abstract toString(): string;
}

// keyrot's commands --------------------------------------------------------------------------------

const rotateCall = (user: UserName, verbose: boolean): KeyrotCall => ({
  label: `rotate --user ${user}`,
  argv: () => ['rotate', '--user', user, ...(verbose ? ['--verbose'] : [])],
});
const dueCall = (): KeyrotCall => ({ label: 'rotate --due', argv: () => ['rotate', '--due'] });
const compromisedCall = (user: UserName, deleteOld: boolean): KeyrotCall => ({
  label: `rotate --user ${user} --compromised${deleteOld ? ' --delete-old' : ''}`,
  argv: () => [
    'rotate',
    '--user',
    user,
    '--compromised',
    ...(deleteOld ? ['--delete-old'] : []),
    '--verbose',
  ],
  emergencyUser: user,
});
const rollbackCall = (user: UserName): KeyrotCall => ({
  label: `rollback --user ${user}`,
  argv: () => ['rollback', '--user', user, '--verbose'],
});
const retireCall = (user: MachineUser | null): KeyrotCall => ({
  label: `retire${user ? ` --user ${user}` : ''}`,
  argv: () => ['retire', ...(user ? ['--user', user] : [])],
});

class Keyrot extends Action {
  constructor(
    readonly kind: ActionKind,
    readonly call: KeyrotCall,
    /** Time that passes first (retire "at an advancing --now"). */
    readonly advanceDays = 0,
  ) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if (this.advanceDays > 0) real.advance(model, days(this.advanceDays));
    await real.keyrot(model, this.call);
    count(this.kind);
  }
  toString() {
    return `${this.advanceDays > 0 ? `+${this.advanceDays}d ` : ''}${this.call.label}`;
  }
}

class CrashThenRerun extends Action {
  readonly kind = 'crash, then re-run';
  constructor(
    readonly inner: Keyrot,
    readonly afterCalls: number,
  ) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if (this.inner.advanceDays > 0) real.advance(model, days(this.inner.advanceDays));
    const outcome = await real.keyrot(model, this.inner.call, this.afterCalls);
    if (outcome !== 'crashed') return; // it finished in fewer calls: nothing crashed
    count(this.kind);
    await real.keyrot(model, this.inner.call);
  }
  toString() {
    return `crash after call ${this.afterCalls} of (${this.inner.toString()}), then re-run`;
  }
}

// The world around keyrot ---------------------------------------------------------------------------

class Advance extends Action {
  readonly kind = 'time passes';
  constructor(readonly minutes: number) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    real.advance(model, this.minutes * 60_000);
    count(this.kind);
  }
  toString() {
    return `time passes: +${this.minutes >= 1440 ? `${this.minutes / 1440}d` : `${this.minutes}min`}`;
  }
}

class Use extends Action {
  readonly kind = 'consumer uses its key';
  constructor(readonly consumer: number) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if ((await real.use(model, this.consumer)) === 'used') count(this.kind);
  }
  toString() {
    return `consumer ${this.consumer} (of ${MACHINE_USERS[Math.floor(this.consumer / 2)]}) uses its key`;
  }
}

class Refresh extends Action {
  readonly kind = 'consumer fetches AWSCURRENT';
  constructor(readonly consumer: number) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if (real.refresh(model, this.consumer)) count(this.kind);
  }
  toString() {
    return `consumer ${this.consumer} (of ${MACHINE_USERS[Math.floor(this.consumer / 2)]}) fetches AWSCURRENT`;
  }
}

class HandKey extends Action {
  constructor(
    readonly kind: 'hand: deactivate a key' | 'hand: delete a key',
    readonly user: MachineUser,
    readonly slot: number,
  ) {
    super();
  }
  async run(model: ChaosModel, real: ChaosReal) {
    const key = real.view[this.user].keys[this.slot];
    if (key === undefined) return;
    const deactivate = this.kind === 'hand: deactivate a key';
    if (deactivate && key.status !== 'Active') return;
    await real.handEdit(model, `${deactivate ? 'deactivate' : 'delete'} ${this.user}'s key ${key.id}`, () =>
      deactivate
        ? real.world.setStatus(this.user, key.id, 'Inactive')
        : real.world.deleteKey(this.user, key.id),
    );
    count(this.kind);
  }
  toString() {
    return `hand: ${this.kind === 'hand: deactivate a key' ? 'deactivate' : 'delete'} ${this.user}'s key in slot ${this.slot}`;
  }
}

type PutKind = 'missing-key' | 'foreign' | 'garbage';
const PUT_KIND: Record<PutKind, ActionKind> = {
  'missing-key': 'hand: put a version with a missing key as AWSCURRENT',
  foreign: "hand: put another user's key as AWSCURRENT",
  garbage: 'hand: put garbage as AWSCURRENT',
};

class HandPutCurrent extends Action {
  readonly kind: ActionKind;
  constructor(
    readonly user: MachineUser,
    readonly what: PutKind,
  ) {
    super();
    this.kind = PUT_KIND[what];
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if (real.view[this.user].secret === undefined) return;
    const value = (): { accessKeyId: string; secretAccessKey: string; userName: string } | undefined => {
      if (this.what === 'garbage') return undefined;
      if (this.what === 'missing-key')
        return {
          accessKeyId: 'AKIACHAOSNOSUCHKEY01',
          secretAccessKey: 'chaos/planted/secret/for/a/key/iam/lacks',
          userName: this.user,
        };
      // The human's key: a machine user's secret naming a key of someone else.
      const id = real.view[HUMAN].keys[0]?.id ?? '';
      return { accessKeyId: id, secretAccessKey: real.world.keySecrets.get(id) ?? '', userName: this.user };
    };
    await real.handEdit(model, `put ${this.what} as AWSCURRENT of keyrot/${this.user}`, () =>
      real.world.putCurrent(this.user, value()),
    );
    count(this.kind);
  }
  toString() {
    return `hand: put ${this.what === 'foreign' ? `${HUMAN}'s key` : this.what} as AWSCURRENT of keyrot/${this.user}`;
  }
}

type RetagKind = 'arn-of-other-machine-user' | 'arn-of-human' | 'user-of-other-machine-user';

class HandRetag extends Action {
  readonly kind = 'hand: re-tag a secret';
  constructor(
    readonly user: MachineUser,
    readonly what: RetagKind,
  ) {
    super();
  }
  private tags(): Record<string, string> {
    const other = MACHINE_USERS.find((u) => u !== this.user) ?? 'm0';
    if (this.what === 'arn-of-other-machine-user') return { 'keyrot:user-arn': arnOf(other) };
    if (this.what === 'arn-of-human') return { 'keyrot:user-arn': arnOf(HUMAN) };
    return { 'keyrot:user': other };
  }
  async run(model: ChaosModel, real: ChaosReal) {
    if (real.view[this.user].secret === undefined) return;
    await real.handEdit(model, `tag keyrot/${this.user} ${JSON.stringify(this.tags())}`, () =>
      real.world.tag(this.user, this.tags()),
    );
    count(this.kind);
  }
  toString() {
    return `hand: re-tag keyrot/${this.user} with ${JSON.stringify(this.tags())}`;
  }
}

class ForgeHumanSecret extends Action {
  readonly kind = 'hand: forge a secret for the human';
  async run(model: ChaosModel, real: ChaosReal) {
    if (real.view[HUMAN].secret !== undefined) return;
    await real.handEdit(model, `create keyrot/${HUMAN} tagged with a /machine/ ARN`, () =>
      real.world.forgeSecret(HUMAN, arnOf(HUMAN, '/machine/')),
    );
    count(this.kind);
  }
  toString() {
    return `hand: create keyrot/${HUMAN} tagged keyrot:user-arn=${arnOf(HUMAN, '/machine/')}`;
  }
}

// Arbitraries ---------------------------------------------------------------------------------------

const machine = fc.constantFrom(...MACHINE_USERS);
const anyUser = fc.constantFrom<UserName>(...USERS);
const consumer = fc.integer({ min: 0, max: MACHINE_USERS.length * 2 - 1 });

const keyrotActions = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(anyUser, fc.boolean()).map(([u, v]) => new Keyrot('rotate', rotateCall(u, v))),
  },
  { weight: 1, arbitrary: fc.constant(new Keyrot('rotate --due', dueCall())) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(anyUser, fc.boolean())
      .map(([u, d]) => new Keyrot('rotate --compromised', compromisedCall(u, d))),
  },
  { weight: 3, arbitrary: anyUser.map((u) => new Keyrot('rollback', rollbackCall(u))) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(0, 1, 4, 8), fc.option(machine, { nil: null }))
      .map(([d, u]) => new Keyrot('retire', retireCall(u), d)),
  },
);

export const action: fc.Arbitrary<Command> = fc.oneof(
  { weight: 16, arbitrary: keyrotActions },
  {
    weight: 2,
    arbitrary: fc
      .tuple(keyrotActions, fc.integer({ min: 1, max: 24 }))
      .map(([inner, k]) => new CrashThenRerun(inner as Keyrot, k)),
  },
  { weight: 3, arbitrary: fc.constantFrom(10, 90, 1440, 4 * 1440).map((m) => new Advance(m)) },
  { weight: 4, arbitrary: consumer.map((c) => new Use(c)) },
  { weight: 2, arbitrary: consumer.map((c) => new Refresh(c)) },
  {
    weight: 2,
    arbitrary: fc.tuple(machine, fc.nat(1)).map(([u, s]) => new HandKey('hand: deactivate a key', u, s)),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(machine, fc.nat(1)).map(([u, s]) => new HandKey('hand: delete a key', u, s)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(machine, fc.constantFrom<PutKind>('missing-key', 'foreign', 'garbage'))
      .map(([u, w]) => new HandPutCurrent(u, w)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        machine,
        fc.constantFrom<RetagKind>('arn-of-other-machine-user', 'arn-of-human', 'user-of-other-machine-user'),
      )
      .map(([u, w]) => new HandRetag(u, w)),
  },
  { weight: 1, arbitrary: fc.constant(new ForgeHumanSecret()) },
);

/** Named actions for fixed scenarios (issue 9's reproductions as command lists). */
export const actions = {
  rotate: (user: UserName) => new Keyrot('rotate', rotateCall(user, false)),
  rollback: (user: UserName) => new Keyrot('rollback', rollbackCall(user)),
  retire: (advanceDays: number, user: MachineUser | null = null) =>
    new Keyrot('retire', retireCall(user), advanceDays),
  advance: (minutes: number) => new Advance(minutes),
  use: (consumerIndex: number) => new Use(consumerIndex),
  refresh: (consumerIndex: number) => new Refresh(consumerIndex),
  deactivate: (user: MachineUser, slot: number) => new HandKey('hand: deactivate a key', user, slot),
  putCurrent: (user: MachineUser, what: PutKind) => new HandPutCurrent(user, what),
  forgeHuman: () => new ForgeHumanSecret(),
};
