import { GetAccessKeyLastUsedCommand } from '@aws-sdk/client-iam';
import { ListSecretsCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import type { Config } from '../config.js';
import { KeyrotError, NotManagedError } from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import { isMachineUser } from '../policy/plan.js';
import { emergencyRotate } from '../rotation/emergency.js';
import type { RotationDeps } from '../rotation/steps.js';
import { changeKey } from '../secret/guard.js';
import { getIamUser, keyIdOf, readManagedUser } from '../secret/state.js';
import { readTargetRecords } from '../targets/state.js';
import type { ExposedKeysEvent } from './event.js';

/**
 * Where a failed response left the user, read back from AWS after the failure (so the alert says
 * what is, not what was meant): every key with its status, which of them AWSCURRENT and AWSPENDING
 * hold, and which targets hold the pending key.
 */
export interface StateAfterFailure {
  keys: Array<{ accessKeyId: string; status: string }>;
  currentKeyId?: string;
  /** The replacement, stored but not current: the response stopped before it was made current. */
  pendingKeyId?: string;
  /** Targets whose record names the pending key, and the others (by name). */
  targetsWithNewKey: string[];
  targetsWithoutNewKey: string[];
}

export type LeakOutcome =
  | {
      accessKeyId: string;
      outcome: 'rotated';
      userName: string;
      newKeyId: string;
      onboarded: boolean;
      deactivated: string[];
      deleted: string[];
      /** The targets that received the new key and proved they hold it. */
      targetsUpdated: string[];
    }
  | { accessKeyId: string; outcome: 'already-handled'; userName: string; detail: string }
  | { accessKeyId: string; outcome: 'not-managed'; userName?: string; detail: string }
  | { accessKeyId: string; outcome: 'unknown'; detail: string }
  | {
      accessKeyId: string;
      outcome: 'failed';
      userName?: string;
      detail: string;
      /** Read back after the failure; absent when the user is unknown or the read failed too. */
      after?: StateAfterFailure;
    };

const NO_SUCH = new Set(['NoSuchEntity', 'NoSuchEntityException']);

/**
 * Written on the user's secret when the response deletes an exposed key (`<ISO time>`): IAM forgets a
 * deleted key, so this is how a later copy of the event finds the key's user and is "already handled".
 */
export const leakedTag = (accessKeyId: string) => `keyrot:leaked:${accessKeyId}`;
const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);

/**
 * The leak response: for each exposed key of the event, find its user (GetAccessKeyLastUsed names
 * it), then
 * - a machine user (managed or not: it is onboarded) gets an emergency rotation: a new key pushed
 *   to every target and proven, then the exposed key and every other old key deactivated at once
 *   (deleted too with `deleteExposed`);
 * - a key already rotated away (inactive or gone, not AWSCURRENT's) is "already handled": AWS may
 *   send an event more than once;
 * - a human's key, or a key keyrot can't find or may not see, is only reported: keyrot never
 *   touches a human's keys.
 * One key's failure does not stop the others. keyrot never detaches AWS's quarantine policy.
 */
export async function respondToLeak(
  deps: RotationDeps,
  config: Config,
  event: ExposedKeysEvent,
  options: { deleteExposed?: boolean } = {},
): Promise<LeakOutcome[]> {
  const outcomes: LeakOutcome[] = [];
  for (const accessKeyId of event.accessKeyIds) {
    outcomes.push(await respondToKey(deps, config, accessKeyId, options));
  }
  return outcomes;
}

async function respondToKey(
  deps: RotationDeps,
  config: Config,
  accessKeyId: string,
  options: { deleteExposed?: boolean },
): Promise<LeakOutcome> {
  let userName: string | undefined;
  try {
    const { UserName } = await deps.clients.iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
    );
    userName = UserName;
  } catch (error) {
    const name = errorName(error) ?? '';
    if (NO_SUCH.has(name)) {
      const handled = await deletedByResponse(deps, config, accessKeyId);
      if (handled) return handled;
      return {
        accessKeyId,
        outcome: 'unknown',
        detail: 'IAM has no such key in this account (deleted already, or another account)',
      };
    }
    if (DENIED.has(name)) {
      // keyrot may only read keys under the machine path: a key it can't read is not a machine user's.
      return {
        accessKeyId,
        outcome: 'not-managed',
        detail: `keyrot may not read this key: it is not a machine user's (under ${config.machinePath})`,
      };
    }
    return { accessKeyId, outcome: 'failed', detail: describe(error) };
  }
  if (!userName) return { accessKeyId, outcome: 'unknown', detail: 'IAM names no user for this key' };
  try {
    const user = await getIamUser(deps.clients.iam, userName);
    if (!isMachineUser(user, config.machinePath)) {
      return {
        accessKeyId,
        outcome: 'not-managed',
        userName,
        detail: `${userName} is not a machine user (IAM path ${user.path}); keyrot never touches a person's keys`,
      };
    }
    const managed = await readManagedUser(deps, config, userName, user);
    const keys = managed?.keys ?? [];
    const key = managed ? keys.find((k) => k.accessKeyId === accessKeyId) : undefined;
    const current = keyIdOf(managed?.stages.current);
    if (managed && accessKeyId !== current) {
      if (key === undefined) {
        return {
          accessKeyId,
          outcome: 'already-handled',
          userName,
          detail: `the key is gone; ${current ?? 'no key'} is AWSCURRENT`,
        };
      }
      if (key.status === 'Inactive' && !options.deleteExposed) {
        return {
          accessKeyId,
          outcome: 'already-handled',
          userName,
          detail: `the key is inactive; ${current ?? 'no key'} is AWSCURRENT`,
        };
      }
      if (current !== undefined && !managed.broken) {
        // Rotated away already (an earlier response, or a rotation): finish by taking the key out.
        const deactivated: string[] = [];
        const deleted: string[] = [];
        const change = (change: 'deactivate' | 'delete') =>
          changeKey(deps, deps.settings, {
            userName,
            secretId: managed.snapshot.arn,
            accessKeyId,
            change,
            purpose: 'emergency',
            now: deps.clock.now(),
          });
        if ((await change('deactivate')).changed) deactivated.push(accessKeyId);
        if (options.deleteExposed && (await change('delete')).changed) {
          deleted.push(accessKeyId);
          await recordDeleted(deps, managed.snapshot.arn, accessKeyId);
        }
        return {
          accessKeyId,
          outcome: 'rotated',
          userName,
          newKeyId: current,
          onboarded: false,
          deactivated,
          deleted,
          targetsUpdated: [],
        };
      }
    }
    const result = await emergencyRotate(deps, config, userName, {
      leakedKeyId: accessKeyId,
      known: { user, managed },
      ...(options.deleteExposed ? { deleteOld: true } : {}),
    });
    if (result.deleted.includes(accessKeyId) || result.clearedForRoom.includes(accessKeyId))
      await recordDeleted(deps, result.secretArn, accessKeyId);
    return {
      accessKeyId,
      outcome: 'rotated',
      userName,
      newKeyId: result.accessKeyId,
      onboarded: result.onboarded,
      deactivated: [...result.clearedForRoom, ...result.deactivated].filter((v, i, a) => a.indexOf(v) === i),
      deleted: [...result.clearedForRoom, ...result.deleted].filter((v, i, a) => a.indexOf(v) === i),
      targetsUpdated: result.targetsUpdated,
    };
  } catch (error) {
    if (error instanceof NotManagedError)
      return { accessKeyId, outcome: 'not-managed', userName, detail: error.message };
    const after = await stateAfterFailure(deps, config, userName);
    return { accessKeyId, outcome: 'failed', userName, detail: describe(error), ...(after ? { after } : {}) };
  }
}

/**
 * Reads where a failed response left a machine user. A failed push or proof leaves the exposed key
 * Active and AWSCURRENT (the rotation stops before finishSecret, and nothing is deactivated after a
 * failed rotation), but a step may have failed elsewhere: the alert reports what AWS says now.
 * Undefined when even this read fails.
 */
async function stateAfterFailure(
  deps: RotationDeps,
  config: Config,
  userName: string,
): Promise<StateAfterFailure | undefined> {
  try {
    const managed = await readManagedUser(deps, config, userName);
    const keys = managed?.keys ?? (await listAccessKeys(deps.clients.iam, userName));
    const currentKeyId = keyIdOf(managed?.stages.current);
    const pending = keyIdOf(managed?.stages.pending);
    const pendingKeyId = pending !== currentKeyId ? pending : undefined;
    const records = managed ? readTargetRecords(managed.snapshot.tags) : new Map();
    const names = deps.targetsFor(userName).map((t) => t.name);
    const holdsNew = (name: string) => {
      const record = records.get(name);
      return (
        pendingKeyId !== undefined && record?.state === 'received' && record.accessKeyId === pendingKeyId
      );
    };
    return {
      keys: keys.map((k) => ({ accessKeyId: k.accessKeyId ?? '', status: k.status })),
      ...(currentKeyId ? { currentKeyId } : {}),
      ...(pendingKeyId ? { pendingKeyId } : {}),
      targetsWithNewKey: names.filter(holdsNew),
      targetsWithoutNewKey: names.filter((n) => !holdsNew(n)),
    };
  } catch {
    return undefined;
  }
}

/** Notes on the secret that the response deleted this exposed key; a failed note costs only the match later. */
async function recordDeleted(deps: RotationDeps, secretArn: string, accessKeyId: string): Promise<void> {
  try {
    await deps.clients.secrets.send(
      new TagResourceCommand({
        SecretId: secretArn,
        Tags: [{ Key: leakedTag(accessKeyId), Value: deps.clock.now().toISOString() }],
      }),
    );
  } catch {
    // The key is gone either way; a later copy of the event is then reported as not found.
  }
}

/**
 * A key IAM no longer has, that an earlier response deleted: the keyrot secret carrying its note
 * (ListSecrets filtered by the tag key: one call, names and tags only). Undefined when none does or
 * the list is refused.
 */
async function deletedByResponse(
  deps: RotationDeps,
  config: Config,
  accessKeyId: string,
): Promise<LeakOutcome | undefined> {
  try {
    const { SecretList = [] } = await deps.clients.secrets.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'name', Values: [config.secretPrefix] },
          { Key: 'tag-key', Values: [leakedTag(accessKeyId)] },
        ],
      }),
    );
    for (const entry of SecretList) {
      const tags = Object.fromEntries((entry.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const userName = tags['keyrot:user'];
      const at = tags[leakedTag(accessKeyId)];
      if (userName && at && entry.Name === `${config.secretPrefix}${userName}`)
        return {
          accessKeyId,
          outcome: 'already-handled',
          userName,
          detail: `keyrot deleted the key at ${at}`,
        };
    }
  } catch {
    // Not allowed or not answered: the key is reported as not found, which changes nothing.
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof KeyrotError) return error.message;
  return error instanceof Error ? `${errorName(error) ?? error.name}: ${error.message}` : String(error);
}
