import type { Clock } from '../clock.js';

/** The new key, as handed to a target. Adapters must never log it, put it in an error or describe it. */
export interface PushedCredential {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a push or verify is part of: the user, the rotation (its secret version) and when it runs. */
export interface TargetContext {
  userName: string;
  /** The secret version being pushed (the rotation's token): a stable id for idempotent deliveries. */
  versionId: string;
  /** When the key was created (the value's CreatedAt), for the receiver's records. */
  rotatedAt: Date;
}

/**
 * What the target holds now, read without reading any secret back: the access key id kept beside the
 * secret (a fingerprint), `absent` when nothing is there yet, `unknown` where the provider can't tell.
 */
export type Fingerprint =
  | { state: 'holds'; accessKeyId: string }
  | { state: 'absent' }
  | { state: 'unknown' };

/** A push's outcome. `disabled`: the receiver said it is gone for good (webhook 410); it is reported. */
export type PushOutcome = { outcome: 'pushed' } | { outcome: 'disabled'; reason: string };

/**
 * A system that receives a machine user's key (a CI service's secret store, a parameter store, a
 * webhook). A plain object made by a target type's `create`. `push` and `verify` are idempotent: a
 * rotation step may be retried.
 */
export interface Target {
  readonly type: string;
  readonly name: string;
  /** Stores the key there (setSecret). Throws a TargetFailure that says whether a retry may help. */
  push(credential: PushedCredential, ctx: TargetContext): Promise<PushOutcome>;
  /** Proves the target now holds the key (testSecret). */
  verify(credential: PushedCredential, ctx: TargetContext): Promise<void>;
  /** The key id the target holds now; never reads a secret back. */
  fingerprint(ctx: Pick<TargetContext, 'userName'>): Promise<Fingerprint>;
  /**
   * Asks the consumer to pick up the key the target now holds (a workflow run, a pipeline): present
   * only when the target's `redeploy` option is set. Called after the cut-over; a failure is reported
   * (TargetFailure), never undoes the rotation.
   */
  redeploy?(ctx: Pick<TargetContext, 'userName' | 'versionId'>): Promise<void>;
  /** Non-secret facts for logs and `keyrot status`: never a key, a token or a token's value. */
  describe(): Record<string, string | number | boolean>;
}

/** The narrow logger adapters get (Powertools' Logger fits; the CLI passes a quiet one). */
export interface TargetLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** How adapters call HTTP APIs: per-request timeout, attempts, and the longest rate-limit wait honoured. */
export interface HttpSettings {
  timeoutMs: number;
  attempts: number;
  maxWaitMs: number;
}

export const defaultHttpSettings: HttpSettings = { timeoutMs: 10_000, attempts: 4, maxWaitMs: 60_000 };

/** What adapters may use. Everything outside the process comes in here, so tests hand in fakes. */
export interface TargetDeps {
  fetch: typeof fetch;
  /** The value of a token secret (under `targetSecretPrefix`); never logged, never in an error. */
  readToken(secretId: string): Promise<string>;
  clock: Clock;
  logger: TargetLogger;
  http: HttpSettings;
  /** An SSM client for the aws-ssm adapter: this account's, or another's through an assumed role. */
  ssm?(access: { roleArn?: string; externalId?: string; region?: string }): SsmPort;
}

/** The SSM calls the aws-ssm adapter makes, as a port (lib/aws/ssm.ts builds the real one). */
export interface SsmPort {
  putParameter(input: { name: string; value: string; secure: boolean; kmsKeyId?: string }): Promise<void>;
  /** The value of a String parameter; undefined when it does not exist. */
  getString(name: string): Promise<string | undefined>;
}

/** A target type's adapter: builds the plain-object Target from validated options. */
export type CreateTarget<Options> = (name: string, options: Options, deps: TargetDeps) => Target;
