import { DAY_MS } from '../../../lib/clock.js';
import { type KeyView, USERS, type UserView, type WorldView } from './world.js';

/**
 * The promises the chaos test holds keyrot to (issue 9, "Tests"), as pure checks of the account
 * before and after one keyrot command. Each returns the broken promises, worded for a report.
 */
export const INVARIANTS = [
  /** Every machine user whose AWSCURRENT worked before a keyrot command still has a working one. */
  'working-stays-working',
  /**
   * A user without a working AWSCURRENT (broken, or not onboarded) has none of its keys deactivated or
   * deleted (except an inactive one making room for a first key, and by --compromised once a new key
   * works); a command that changes its keys must leave it working (a crashed one may only add).
   */
  'broken-untouched',
  /** No user holds more than 2 keys. */
  'max-2-keys',
  /** No key used within idleDaysBeforeDeactivate is deactivated or deleted, except by --compromised. */
  'in-use-kept',
  /** No user outside the machine path changes (keys, status). */
  'outside-untouched',
  /** A secret whose keyrot:user / keyrot:user-arn tags disagree with IAM changes no key and no stage. */
  'iam-is-truth',
  /** No SecretAccessKey appears in any output. */
  'no-secret-in-output',
  /** `keyrot status` never fails as a whole, and reports each broken machine user (exit not 0 or 1). */
  'health-reported',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  invariant: Invariant;
  detail: string;
}

export interface StepFacts {
  /** The simulated now the command ran with. */
  now: Date;
  idleDaysBeforeDeactivate: number;
  /** The user a `rotate --compromised` named: its keys may go whatever their use. */
  emergencyUser?: string;
  /** The command was crashed part-way: it may leave a new key behind, nothing more. */
  crashed: boolean;
}

const keyList = (keys: KeyView[]) => keys.map((k) => `${k.id}:${k.status}`).join(',') || 'none';

/** Keys of `before` that are gone or went from Active to Inactive in `after`. */
export function removedOrDeactivated(before: UserView, after: UserView): KeyView[] {
  return before.keys.filter((k) => {
    const now = after.keys.find((a) => a.id === k.id);
    return now === undefined || (k.status === 'Active' && now.status !== 'Active');
  });
}

function keysChanged(before: UserView, after: UserView): boolean {
  return keyList(before.keys) !== keyList(after.keys);
}

/** The tags of a user's secret that disagree with IAM, or undefined when they agree (or no secret). */
export function tagMismatch(user: UserView): string | undefined {
  const tags = user.secret?.tags;
  if (tags === undefined) return undefined;
  const problems: string[] = [];
  if (tags['keyrot:user'] !== user.name) problems.push(`keyrot:user=${tags['keyrot:user'] ?? '(none)'}`);
  if (tags['keyrot:user-arn'] !== user.arn)
    problems.push(`keyrot:user-arn=${tags['keyrot:user-arn'] ?? '(none)'} (IAM: ${user.arn})`);
  return problems.length > 0 ? problems.join(', ') : undefined;
}

const currentVersion = (user: UserView) =>
  Object.entries(user.secret?.stages ?? {}).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];

/** What one keyrot command (or a crashed part of one) broke. */
export function keyrotStepViolations(before: WorldView, after: WorldView, facts: StepFacts): Violation[] {
  const out: Violation[] = [];
  const add = (invariant: Invariant, detail: string) => out.push({ invariant, detail });
  for (const name of USERS) {
    const b = before[name];
    const a = after[name];
    if (a.keys.length > 2) add('max-2-keys', `${name} holds ${a.keys.length} keys: ${keyList(a.keys)}`);
    if (!b.machine) {
      if (keysChanged(b, a))
        add(
          'outside-untouched',
          `${name} (not a machine user) keys ${keyList(b.keys)} -> ${keyList(a.keys)}`,
        );
      continue;
    }
    const gone = removedOrDeactivated(b, a);
    if (facts.emergencyUser !== name) {
      for (const key of gone) {
        if (key.lastUsedAt === undefined) continue;
        const idleDays = Math.floor((facts.now.getTime() - key.lastUsedAt.getTime()) / DAY_MS);
        if (idleDays < facts.idleDaysBeforeDeactivate) {
          const what = a.keys.some((k) => k.id === key.id) ? 'deactivated' : 'deleted';
          add(
            'in-use-kept',
            `${name}: key ${key.id} was ${what} although used ${key.lastUsedAt.toISOString()} (${Math.max(0, idleDays)} days before ${facts.now.toISOString()}; idleDaysBeforeDeactivate ${facts.idleDaysBeforeDeactivate})`,
          );
        }
      }
    }
    if (b.working && !a.working) {
      add('working-stays-working', `${name}: AWSCURRENT worked before, now: ${a.why ?? '?'}`);
    }
    if (!b.working && keysChanged(b, a)) {
      // A user keyrot has not onboarded may lose an inactive key to make room for its first key.
      const allowed =
        (facts.emergencyUser === name && a.working) ||
        (!b.onboarded && gone.every((k) => k.status === 'Inactive'));
      if (gone.length > 0 && !allowed)
        add(
          'broken-untouched',
          `${name} had no working AWSCURRENT (${b.why ?? '?'}), yet keyrot took away ${gone.map((k) => k.id).join(', ')}: keys ${keyList(b.keys)} -> ${keyList(a.keys)}${a.working ? '' : `; still not working: ${a.why ?? '?'}`}`,
        );
      else if (!facts.crashed && !a.working)
        add(
          'broken-untouched',
          `${name} had no working AWSCURRENT (${b.why ?? '?'}); keyrot changed its keys (${keyList(b.keys)} -> ${keyList(a.keys)}) and left it not working: ${a.why ?? '?'}`,
        );
    }
    const mismatch = tagMismatch(b);
    if (mismatch !== undefined && (keysChanged(b, a) || currentVersion(b) !== currentVersion(a))) {
      add(
        'iam-is-truth',
        `${name}: its secret's tags disagree with IAM (${mismatch}), yet keyrot changed it: keys ${keyList(b.keys)} -> ${keyList(a.keys)}, AWSCURRENT ${currentVersion(b) ?? '-'} -> ${currentVersion(a) ?? '-'}`,
      );
    }
  }
  return out;
}

/** The known secret keys that appear in a command's output. */
export function leakedSecrets(output: string, secretKeys: Iterable<string>): Violation[] {
  const out: Violation[] = [];
  for (const secret of secretKeys) {
    if (secret.length >= 8 && output.includes(secret))
      out.push({
        invariant: 'no-secret-in-output',
        detail: `the output holds the secret key ${secret.slice(0, 4)}…`,
      });
  }
  return out;
}

/** Onboarded machine users whose AWSCURRENT does not work: `keyrot status` must name them. */
export function brokenUsers(world: WorldView): UserView[] {
  return USERS.map((name) => world[name]).filter((u) => u.machine && u.onboarded && !u.working);
}
