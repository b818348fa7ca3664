import type { Config } from '../config.js';
import { KeyrotError, NotManagedError } from '../errors.js';
import { describeSecret, STAGE, TAG } from '../secret/secret.js';
import { getIamUser, requireMachineUser, requireTagsMatchIam } from '../secret/state.js';
import {
  createSecret,
  finishSecret,
  type RotationDeps,
  STEPS,
  type StepName,
  setSecret,
  testSecret,
} from './steps.js';
import type { RedeployFailure } from './targets.js';

/** What Secrets Manager sends the rotation function. */
export interface RotationEvent {
  Step: StepName;
  SecretId: string;
  ClientRequestToken: string;
}

/** The request itself is wrong (not ours, rotation off, foreign token, unknown step). Nothing was changed. */
export class RotationRequestError extends KeyrotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RotationRequestError';
  }
}

export function parseRotationEvent(event: unknown): RotationEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  if (typeof e.Step !== 'string' || !(STEPS as readonly string[]).includes(e.Step)) {
    throw new RotationRequestError(
      `Unknown rotation step ${JSON.stringify(e.Step ?? null)}; expected one of ${STEPS.join(', ')}.`,
    );
  }
  for (const field of ['SecretId', 'ClientRequestToken'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') {
      throw new RotationRequestError(`The rotation event has no ${field}.`);
    }
  }
  return e as unknown as RotationEvent;
}

/** A step that failed after its request was accepted: what the rotate function alerts about. */
export interface StepFailure {
  step: StepName;
  userName: string;
  secretName: string;
  token: string;
  error: unknown;
}

/**
 * Checks a Secrets Manager rotation request, then runs its step. Refused before anything changes:
 * a secret outside the prefix or without keyrot's tag, a secret with rotation off, and a token that
 * is not this secret's pending version (for finishSecret, its current one is accepted as a replay).
 *
 * createSecret too needs the token to be an AWSPENDING version already: RotateSecret makes that
 * version, empty, before it invokes the function (Secrets Manager API reference, DescribeSecret,
 * VersionIdsToStages: "During rotation, Secrets Manager creates an AWSPENDING version ID before
 * creating the new secret version"), and AWS's rotation template refuses a token with no stage
 * (aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRotationTemplate). So a token
 * Secrets Manager never made is refused: it can't start a rotation of its own. moto makes no such
 * version for a secret without a value; the tests use test/fakes/secrets-manager.ts, or moto through
 * test/helpers/moto-scoped-auth/rotation_shape.py, which do.
 */
export async function runRotationStep(
  deps: RotationDeps,
  config: Pick<Config, 'secretPrefix' | 'machinePath'>,
  raw: unknown,
  /** Told about a failed step before the error is rethrown (the rotate function alerts from it). */
  onFailure?: (failure: StepFailure) => Promise<void>,
): Promise<{
  step: StepName;
  user: string;
  deletedForRoom?: string[];
  orphansDeleted?: string[];
  moved?: boolean;
  /** finishSecret: redeploys that failed (the rotation stands; the rotate function alerts). */
  redeployFailures?: RedeployFailure[];
}> {
  const event = parseRotationEvent(raw);
  const snapshot = await describeSecret(deps.clients.secrets, event.SecretId);
  if (!snapshot.name.startsWith(config.secretPrefix) || !snapshot.userName || !snapshot.userArn) {
    throw new NotManagedError(
      `Secret ${snapshot.name} is not a keyrot secret (it needs the prefix "${config.secretPrefix}" and the tags ${TAG.user} and ${TAG.userArn}); refusing to rotate it.`,
    );
  }
  if (!snapshot.rotationEnabled)
    throw new RotationRequestError(`Rotation is not enabled on secret ${snapshot.name}.`);
  const stages = snapshot.versions.get(event.ClientRequestToken);
  const acceptable =
    stages?.includes(STAGE.pending) || (event.Step === 'finishSecret' && stages?.includes(STAGE.current));
  if (!acceptable) {
    throw new RotationRequestError(
      `Token ${event.ClientRequestToken} is not the pending version of ${snapshot.name} (its stages: ${stages === undefined ? 'no such version' : JSON.stringify(stages)}).`,
    );
  }
  const input = { secretId: snapshot.arn, token: event.ClientRequestToken, snapshot };
  const userName = snapshot.userName;
  try {
    // IAM is the truth about the user: the tags must agree with it before a key is made or proven.
    const user = await getIamUser(deps.clients.iam, userName);
    requireMachineUser(config, user);
    requireTagsMatchIam(snapshot, user);
    switch (event.Step) {
      case 'createSecret': {
        const created = await createSecret(deps, input);
        return {
          step: event.Step,
          user: userName,
          deletedForRoom: created.deletedForRoom,
          orphansDeleted: created.orphansDeleted,
        };
      }
      case 'setSecret':
        await setSecret(deps, { ...input, userName });
        break;
      case 'testSecret':
        await testSecret(deps, { ...input, userArn: user.arn });
        break;
      case 'finishSecret':
        return { step: event.Step, user: userName, ...(await finishSecret(deps, input)) };
    }
  } catch (error) {
    await onFailure?.({
      step: event.Step,
      userName,
      secretName: snapshot.name,
      token: event.ClientRequestToken,
      error,
    });
    throw error;
  }
  return { step: event.Step, user: userName };
}
