import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from '../../../lib/aws/clients.js';
import { errorName } from '../../../lib/aws/errors.js';
import { parseSecretValue } from '../../../lib/secret/value.js';
import { signWith } from '../../../lib/testbed/seed.js';

/**
 * The chaos test's account on moto, read and edited with admin clients (never keyrot's code): three
 * machine users with 0, 1 and 2 keys from before keyrot, and a human user with a key.
 */
export const ACCOUNT_ID = '123456789012';
export const MACHINE_USERS = ['m0', 'm1', 'm2'] as const;
export const HUMAN = 'alice';
export const USERS = [...MACHINE_USERS, HUMAN] as const;
export type UserName = (typeof USERS)[number];
export type MachineUser = (typeof MACHINE_USERS)[number];

const PATHS: Record<UserName, string> = { m0: '/machine/', m1: '/machine/', m2: '/machine/', alice: '/' };
const PRE_KEYROT_KEYS: Record<UserName, number> = { m0: 0, m1: 1, m2: 2, alice: 1 };

export const arnOf = (user: string, path = PATHS[user as UserName] ?? '/') =>
  `arn:aws:iam::${ACCOUNT_ID}:user${path}${user}`;
export const secretIdOf = (user: string) => `keyrot/${user}`;

export interface KeyView {
  id: string;
  status: string;
  lastUsedAt?: Date;
}

/** What a secret's AWSCURRENT holds, as a consumer reading it would find it. */
export type CurrentView =
  | { kind: 'none' }
  | { kind: 'garbage' }
  | { kind: 'credential'; accessKeyId: string; secretAccessKey: string };

export interface SecretView {
  tags: Record<string, string>;
  /** Version id -> staging labels. */
  stages: Record<string, string[]>;
  current: CurrentView;
}

export interface UserView {
  name: UserName;
  machine: boolean;
  arn: string;
  keys: KeyView[];
  secret?: SecretView;
  /**
   * The secret has, or once had, an AWSCURRENT: some version carries a label other than AWSPENDING. A
   * secret with no version, or only its first AWSPENDING (an onboarding cut short), is not onboarded
   * yet: the user never had a working AWSCURRENT to lose.
   */
  onboarded: boolean;
  /** AWSCURRENT holds a key that exists in IAM, is Active and authenticates as the user. */
  working: boolean;
  /** Why not, when not working. */
  why?: string;
}

export type WorldView = Record<UserName, UserView>;

export class World {
  /** Every SecretAccessKey this run has seen (seeded, stored in a secret, or planted by hand). */
  readonly secretKeys = new Set<string>();
  /** Key id -> its secret, as first seen. */
  readonly keySecrets = new Map<string, string>();
  /** Key id -> the ARN it authenticated as (a key never changes user, so it is signed once). */
  private readonly authenticatedAs = new Map<string, string>();

  constructor(
    readonly clients: AwsClients,
    readonly endpoint: string,
  ) {}

  private learn(accessKeyId: string, secretAccessKey: string): void {
    this.secretKeys.add(secretAccessKey);
    if (!this.keySecrets.has(accessKeyId)) this.keySecrets.set(accessKeyId, secretAccessKey);
  }

  /** Creates the users and their keys from before keyrot. Returns each user's key ids. */
  async seed(): Promise<Record<UserName, string[]>> {
    const out = { m0: [], m1: [], m2: [], alice: [] } as Record<UserName, string[]>;
    for (const user of USERS) {
      await this.clients.iam.send(
        new CreateUserCommand({
          UserName: user,
          Path: PATHS[user],
          Tags: [{ Key: 'owner', Value: 'chaos' }],
        }),
      );
      for (let i = 0; i < PRE_KEYROT_KEYS[user]; i++) {
        const { AccessKey } = await this.clients.iam.send(new CreateAccessKeyCommand({ UserName: user }));
        if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error(`no key for ${user}`);
        this.learn(AccessKey.AccessKeyId, AccessKey.SecretAccessKey);
        out[user].push(AccessKey.AccessKeyId);
      }
    }
    return out;
  }

  /** Signs sts:GetCallerIdentity with a key (a consumer using it). Returns the ARN, or undefined. */
  async use(accessKeyId: string): Promise<string | undefined> {
    const secret = this.keySecrets.get(accessKeyId);
    if (secret === undefined) return undefined;
    const arn = await signWith(this.endpoint, accessKeyId, secret);
    if (!this.authenticatedAs.has(accessKeyId)) this.authenticatedAs.set(accessKeyId, arn);
    return arn;
  }

  async keys(user: string): Promise<KeyView[]> {
    const { AccessKeyMetadata = [] } = await this.clients.iam.send(
      new ListAccessKeysCommand({ UserName: user }),
    );
    return Promise.all(
      AccessKeyMetadata.map(async (k) => {
        const id = k.AccessKeyId ?? '';
        const { AccessKeyLastUsed } = await this.clients.iam.send(
          new GetAccessKeyLastUsedCommand({ AccessKeyId: id }),
        );
        const lastUsedAt = AccessKeyLastUsed?.LastUsedDate;
        return { id, status: k.Status ?? '', ...(lastUsedAt ? { lastUsedAt } : {}) };
      }),
    );
  }

  async secret(user: string): Promise<SecretView | undefined> {
    let described: DescribeSecretCommandOutput;
    try {
      described = await this.clients.secrets.send(new DescribeSecretCommand({ SecretId: secretIdOf(user) }));
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    const tags = Object.fromEntries((described.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const stages = described.VersionIdsToStages ?? {};
    let current: CurrentView = { kind: 'none' };
    for (const [versionId, labels] of Object.entries(stages)) {
      let text: string | undefined;
      try {
        ({ SecretString: text } = await this.clients.secrets.send(
          new GetSecretValueCommand({ SecretId: secretIdOf(user), VersionId: versionId }),
        ));
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      const value = parseSecretValue(text);
      if (value) this.learn(value.AccessKeyId, value.SecretAccessKey);
      if (labels.includes('AWSCURRENT')) {
        current = value
          ? { kind: 'credential', accessKeyId: value.AccessKeyId, secretAccessKey: value.SecretAccessKey }
          : { kind: text === undefined ? 'none' : 'garbage' };
      }
    }
    return { tags, stages, current };
  }

  /** Reads every user's keys and secret, and whether its AWSCURRENT works. */
  async read(): Promise<WorldView> {
    const views = await Promise.all(USERS.map((user) => this.readUser(user)));
    return Object.fromEntries(views.map((v) => [v.name, v])) as WorldView;
  }

  async readUser(name: UserName): Promise<UserView> {
    const [keys, secret] = await Promise.all([this.keys(name), this.secret(name)]);
    const arn = arnOf(name);
    const onboarded = Object.values(secret?.stages ?? {}).some((labels) =>
      labels.some((label) => label !== 'AWSPENDING'),
    );
    const base = {
      name,
      onboarded,
      machine: PATHS[name].startsWith('/machine/'),
      arn,
      keys,
      ...(secret ? { secret } : {}),
    };
    const why = await this.whyNotWorking(name, keys, secret);
    return why === undefined ? { ...base, working: true } : { ...base, working: false, why };
  }

  private async whyNotWorking(
    user: UserName,
    keys: KeyView[],
    secret: SecretView | undefined,
  ): Promise<string | undefined> {
    if (secret === undefined) return 'no keyrot secret';
    const current = secret.current;
    if (current.kind !== 'credential')
      return `AWSCURRENT holds ${current.kind === 'none' ? 'nothing' : 'no credential'}`;
    const key = keys.find((k) => k.id === current.accessKeyId);
    if (key === undefined) return `AWSCURRENT's key ${current.accessKeyId} is not a key of ${user} in IAM`;
    if (key.status !== 'Active') return `AWSCURRENT's key ${current.accessKeyId} is ${key.status}`;
    if (this.keySecrets.get(current.accessKeyId) !== current.secretAccessKey)
      return `AWSCURRENT's secret for ${current.accessKeyId} is not the key's secret`;
    let arn = this.authenticatedAs.get(current.accessKeyId);
    if (arn === undefined) arn = await this.use(current.accessKeyId);
    if (arn !== arnOf(user)) return `AWSCURRENT's key ${current.accessKeyId} authenticates as ${arn}`;
    return undefined;
  }

  // Hand edits: what an operator, another tool or an attacker with the scan role's rights can do.

  async setStatus(user: string, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.clients.iam.send(
      new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId, Status: status }),
    );
  }

  async deleteKey(user: string, accessKeyId: string): Promise<void> {
    await this.clients.iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId }));
  }

  /** Puts a version staged AWSCURRENT. `value` undefined: garbage that is not a keyrot credential. */
  async putCurrent(
    user: string,
    value: { accessKeyId: string; secretAccessKey: string; userName: string } | undefined,
  ): Promise<void> {
    const text =
      value === undefined
        ? 'this is not json {'
        : JSON.stringify({
            Version: 1,
            AccessKeyId: value.accessKeyId,
            SecretAccessKey: value.secretAccessKey,
            UserName: value.userName,
            CreatedAt: new Date().toISOString(),
          });
    if (value) this.secretKeys.add(value.secretAccessKey);
    await this.clients.secrets.send(
      new PutSecretValueCommand({
        SecretId: secretIdOf(user),
        SecretString: text,
        VersionStages: ['AWSCURRENT'],
      }),
    );
  }

  async tag(user: string, tags: Record<string, string>): Promise<void> {
    await this.clients.secrets.send(
      new TagResourceCommand({
        SecretId: secretIdOf(user),
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }

  /** A secret for a user who is not keyrot's, tagged as if it were a machine user's (issue 9, item 3). */
  async forgeSecret(user: string, claimedArn: string): Promise<void> {
    await this.clients.secrets.send(
      new CreateSecretCommand({
        Name: secretIdOf(user),
        Tags: [
          { Key: 'keyrot:user', Value: user },
          { Key: 'keyrot:user-arn', Value: claimedArn },
        ],
      }),
    );
  }
}
