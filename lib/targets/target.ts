import type { $ZodType } from 'zod/v4/core';

/** The new key, as handed to a target. Adapters must never log it. */
export interface PushedCredential {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * A system that receives a machine user's key (a CI service's secret store, a log collector...).
 * `push` stores the key there; `verify` proves the target now holds it (or can use it). Both must be
 * idempotent: a rotation step may be retried.
 */
export interface Target {
  readonly type: string;
  readonly name: string;
  push(credential: PushedCredential): Promise<void>;
  verify(credential: PushedCredential): Promise<void>;
}

/** What adapters may use. Kept small on purpose; it grows with the adapters that need it. */
export interface TargetDeps {
  fetch: typeof fetch;
}

/** A target type: a strict schema for its options and a factory for its plain-object Target. */
export interface TargetFactory<Options = unknown> {
  type: string;
  description: string;
  /** Any zod schema (zod/mini or classic); strict, so a typo in the config is an error. */
  options: $ZodType<Options>;
  create(name: string, options: Options, deps: TargetDeps): Target;
}
