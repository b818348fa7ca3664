/** Plain data read from IAM. Everything keyrot decides is a pure function of this, a policy and a time. */

export type KeyStatus = 'Active' | 'Inactive';

export interface AccessKeyRecord {
  /** Unknown when the key came from the credential report, which has slots, not ids. */
  accessKeyId?: string;
  /** The credential report's slot (1 or 2); set by the report strategy. */
  slot?: 1 | 2;
  status: KeyStatus;
  createdAt: Date;
  /**
   * The credential report gave no creation date (it may show N/A for an inactive key), so
   * `createdAt` is only a bound: the key's last use, which can't be before its creation.
   */
  createdAtUnknown?: boolean;
  /** Undefined when the key has never been used. */
  lastUsedAt?: Date;
  lastUsedService?: string;
}

/** A key as ListAccessKeys gives it: always with its id (the per-user reads of keyrot's use cases). */
export type ListedKey = AccessKeyRecord & { accessKeyId: string };

/** A policy that reaches a user, directly or through a group, with its document when IAM gave it. */
export interface PolicyGrant {
  name: string;
  /** Managed policies only. */
  arn?: string;
  kind: 'aws-managed' | 'customer-managed' | 'inline';
  /** 'user', or 'group:<group name>'. */
  via: string;
  /** The parsed JSON policy document; absent for AWS-managed policies, which are judged by name. */
  document?: unknown;
}

export interface UserRecord {
  userName: string;
  userId: string;
  arn: string;
  path: string;
  createdAt: Date;
  tags: Record<string, string>;
  hasConsolePassword: boolean;
  policies: PolicyGrant[];
  keys: AccessKeyRecord[];
}

export type InventoryStrategy = 'report' | 'exact';

export interface Inventory {
  accountId: string;
  strategy: InventoryStrategy;
  /** When the inventory was read (the real clock, not a simulated one). */
  collectedAt: Date;
  /** For the report strategy: when IAM generated the credential report (it may be up to 4 hours old). */
  reportGeneratedAt?: Date;
  /** Users the report did not list yet (created after it), read with per-user calls instead. */
  usersReadExactly: string[];
  users: UserRecord[];
  /**
   * Machine users keyrot manages (a keyrot secret exists), by user name, with their last cut-over.
   * Absent when the secrets were not read.
   */
  managed?: Record<string, { cutoverAt?: Date }>;
}
