import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  type IAMClient,
  type Tag,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

/** A user to create in an emulator, with its keys described by what happens to them. */
export interface SeedUser {
  userName: string;
  path: string;
  tags?: Record<string, string>;
  password?: boolean;
  managedPolicies?: string[];
  /** One entry per key: `used` signs an STS call with it, `inactive` deactivates it. */
  keys?: Array<{ used?: boolean; inactive?: boolean }>;
}

export interface SeededKey {
  userName: string;
  accessKeyId: string;
}

/**
 * Creates users and keys in an emulator. A key marked `used` signs sts:GetCallerIdentity, so IAM
 * records a real last-used date. Returns the key ids (secrets stay in this function).
 */
export async function seedUsers(
  iam: IAMClient,
  endpoint: string,
  users: readonly SeedUser[],
): Promise<SeededKey[]> {
  const seeded: SeededKey[] = [];
  for (const user of users) {
    const Tags: Tag[] = Object.entries(user.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    await iam.send(
      new CreateUserCommand({ UserName: user.userName, Path: user.path, ...(Tags.length ? { Tags } : {}) }),
    );
    if (user.password) {
      await iam.send(
        new CreateLoginProfileCommand({ UserName: user.userName, Password: `Demo-${user.userName}-Pw1!` }),
      );
    }
    for (const policy of user.managedPolicies ?? []) {
      await iam.send(
        new AttachUserPolicyCommand({
          UserName: user.userName,
          PolicyArn: `arn:aws:iam::aws:policy/${policy}`,
        }),
      );
    }
    for (const spec of user.keys ?? []) {
      const { AccessKey: key } = await iam.send(new CreateAccessKeyCommand({ UserName: user.userName }));
      if (!key?.AccessKeyId || !key.SecretAccessKey)
        throw new Error(`CreateAccessKey returned no key for ${user.userName}`);
      if (spec.used) await signWith(endpoint, key.AccessKeyId, key.SecretAccessKey);
      if (spec.inactive) {
        await iam.send(
          new UpdateAccessKeyCommand({
            UserName: user.userName,
            AccessKeyId: key.AccessKeyId,
            Status: 'Inactive',
          }),
        );
      }
      seeded.push({ userName: user.userName, accessKeyId: key.AccessKeyId });
    }
  }
  return seeded;
}

/** Signs sts:GetCallerIdentity with a key and returns the ARN the emulator says it belongs to. */
export async function signWith(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
): Promise<string> {
  const sts = new STSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Arn ?? '';
  } finally {
    sts.destroy();
  }
}

/** The demo account: machine users with 0, 1 and 2 keys, an inactive key, a console password, an
 * overpowered user, one without an owner, and a human user outside the machine path. */
export const demoAccount: readonly SeedUser[] = [
  { userName: 'ci-deploy', path: '/machine/ci/', tags: { owner: 'platform-team' }, keys: [{ used: true }] },
  {
    userName: 'log-shipper',
    path: '/machine/',
    tags: { owner: 'observability' },
    // Deactivated long ago and not used since: keyrot may delete it to make room.
    keys: [{ inactive: true }, { used: true }],
  },
  { userName: 'metrics-export', path: '/machine/', tags: { owner: 'observability' }, keys: [{}] },
  {
    userName: 'legacy-etl',
    path: '/machine/',
    tags: { owner: 'data-team' },
    keys: [{ used: true }, { used: true }],
  },
  {
    userName: 'reporting-bot',
    path: '/machine/',
    password: true,
    managedPolicies: ['AdministratorAccess'],
    keys: [{ used: true }],
  },
  { userName: 'new-integration', path: '/machine/', tags: { owner: 'platform-team' } },
  { userName: 'alice', path: '/', password: true, keys: [{ used: true }] },
];
