import { GetUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import type { Config } from '../config.js';
import { NotManagedError } from '../errors.js';
import { listAccessKeys } from '../inventory/per-user.js';
import type { AccessKeyRecord, ListedKey } from '../inventory/types.js';
import { isMachineUser } from '../policy/plan.js';
import { describeSecret, type SecretSnapshot, STAGE, secretNameFor, TAG, versionWith } from './secret.js';
import { readVersion, type VersionRead } from './value.js';

/** A user as IAM knows it: the only source of truth for its path and ARN. */
export interface IamUser {
  userName: string;
  arn: string;
  path: string;
}

/** The user as IAM has it; a NotManagedError (exit 2) naming the user when IAM has no such user. */
export async function getIamUser(iam: IAMClient, userName: string): Promise<IamUser> {
  try {
    const { User: user } = await iam.send(new GetUserCommand({ UserName: userName }));
    return { userName, arn: user?.Arn ?? '', path: user?.Path ?? '/' };
  } catch (error) {
    if (errorName(error) === 'NoSuchEntity' || errorName(error) === 'NoSuchEntityException') {
      throw new NotManagedError(
        `IAM has no user named ${JSON.stringify(userName)}. Check the name (keyrot plan lists the account's users).`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Refuses a user outside the machine path: keyrot never changes a human's keys. */
export function requireMachineUser(config: Pick<Config, 'machinePath'>, user: IamUser): void {
  if (!isMachineUser(user, config.machinePath)) {
    throw new NotManagedError(
      `${user.userName} is not a machine user (IAM path ${user.path}); keyrot only manages users under ${config.machinePath}.`,
    );
  }
}

/**
 * IAM is the truth about a user: a secret whose keyrot tags disagree with IAM (a forged or stale
 * `keyrot:user-arn`, a secret renamed onto another user) is refused, naming the mismatch.
 */
export function requireTagsMatchIam(snapshot: SecretSnapshot, user: IamUser): void {
  const problems: string[] = [];
  if (snapshot.userName !== user.userName)
    problems.push(
      `${TAG.user} is ${JSON.stringify(snapshot.userName ?? null)}, IAM user is ${user.userName}`,
    );
  if (snapshot.userArn !== user.arn)
    problems.push(`${TAG.userArn} is ${JSON.stringify(snapshot.userArn ?? null)}, IAM says ${user.arn}`);
  if (problems.length > 0) {
    throw new NotManagedError(
      `Secret ${snapshot.name} does not match IAM (${problems.join('; ')}). keyrot changes nothing for it. If the secret is keyrot's, set its tags to what IAM says (aws secretsmanager tag-resource --secret-id ${snapshot.name} ...); otherwise remove it or change secretPrefix.`,
    );
  }
}

export type BrokenReason =
  | 'no-current'
  | 'current-unreadable'
  | 'current-other-user'
  | 'current-key-missing'
  | 'current-key-inactive';

export interface Broken {
  reason: BrokenReason;
  detail: string;
  /** The command that fixes it. */
  fix: string;
}

/** The stages' versions as read (undefined: no version holds the stage). */
export interface StageReads {
  current?: VersionRead;
  pending?: VersionRead;
  previous?: VersionRead;
}

export const keyIdOf = (read: VersionRead | undefined): string | undefined =>
  read?.kind === 'credential' ? read.value.AccessKeyId : undefined;

/**
 * Whether the secret gives the user a working key: AWSCURRENT holds keyrot's credential for this user,
 * naming a key IAM has and that is Active. A secret whose only version is AWSPENDING (its first
 * rotation under way) is not broken, just not rotated yet. Pure.
 */
export function assessHealth(
  userName: string,
  snapshot: SecretSnapshot,
  stages: StageReads,
  keys: readonly AccessKeyRecord[],
): Broken | undefined {
  const fix = `keyrot rotate --user ${userName}`;
  const { current } = stages;
  if (current === undefined) {
    const labelled = [...snapshot.versions.values()].some((s) => s.length > 0 && !s.includes(STAGE.pending));
    if (!labelled) return undefined;
    return { reason: 'no-current', detail: `${snapshot.name} has no AWSCURRENT version`, fix };
  }
  if (current.kind !== 'credential') {
    return {
      reason: 'current-unreadable',
      detail: `AWSCURRENT of ${snapshot.name} (version ${current.versionId}) ${current.kind === 'empty' ? 'has no value' : 'does not hold a keyrot credential'}`,
      fix,
    };
  }
  if (current.value.UserName !== userName) {
    return {
      reason: 'current-other-user',
      detail: `AWSCURRENT of ${snapshot.name} holds a key of ${current.value.UserName}, not ${userName}`,
      fix,
    };
  }
  const key = keys.find((k) => k.accessKeyId === current.value.AccessKeyId);
  if (key === undefined) {
    return {
      reason: 'current-key-missing',
      detail: `AWSCURRENT of ${snapshot.name} holds ${current.value.AccessKeyId}, which IAM does not have`,
      fix,
    };
  }
  if (key.status !== 'Active') {
    return {
      reason: 'current-key-inactive',
      detail: `AWSCURRENT's key ${current.value.AccessKeyId} is inactive in IAM, so consumers using the secret fail`,
      fix: `aws iam update-access-key --user-name ${userName} --access-key-id ${current.value.AccessKeyId} --status Active (or ${fix})`,
    };
  }
  return undefined;
}

/** Reads the versions that hold AWSCURRENT, AWSPENDING and AWSPREVIOUS, each once. */
export async function readStages(
  secrets: SecretsManagerClient,
  snapshot: SecretSnapshot,
): Promise<StageReads> {
  const reads = new Map<string, VersionRead>();
  const read = async (stage: string) => {
    const id = versionWith(snapshot, stage);
    if (id === undefined) return undefined;
    let got = reads.get(id);
    if (got === undefined) {
      got = await readVersion(secrets, snapshot.arn, id);
      reads.set(id, got);
    }
    return got;
  };
  const current = await read(STAGE.current);
  const pending = await read(STAGE.pending);
  const previous = await read(STAGE.previous);
  return {
    ...(current ? { current } : {}),
    ...(pending ? { pending } : {}),
    ...(previous ? { previous } : {}),
  };
}

/** Everything keyrot knows of one managed machine user, read fresh. */
export interface ManagedUser {
  user: IamUser;
  snapshot: SecretSnapshot;
  stages: StageReads;
  keys: ListedKey[];
  broken?: Broken;
}

/**
 * Reads a machine user's keyrot state: IAM first (the truth about the user), then its secret, checked
 * against IAM. Undefined when the user has no keyrot secret yet.
 */
export async function readManagedUser(
  deps: { clients: { iam: IAMClient; secrets: SecretsManagerClient } },
  config: Pick<Config, 'machinePath' | 'secretPrefix'>,
  userName: string,
  known?: IamUser,
): Promise<ManagedUser | undefined> {
  const user = known ?? (await getIamUser(deps.clients.iam, userName));
  requireMachineUser(config, user);
  let snapshot: SecretSnapshot;
  try {
    snapshot = await describeSecret(deps.clients.secrets, secretNameFor(config, userName));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
  requireTagsMatchIam(snapshot, user);
  const stages = await readStages(deps.clients.secrets, snapshot);
  const keys = await listAccessKeys(deps.clients.iam, userName);
  const broken = assessHealth(userName, snapshot, stages, keys);
  return { user, snapshot, stages, keys, ...(broken ? { broken } : {}) };
}
