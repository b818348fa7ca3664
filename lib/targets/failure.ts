import { KeyrotError } from '../errors.js';

/**
 * Why a call to a target failed, in classes a rotation acts on. Retryable classes are retried within
 * the step (with backoff, honouring Retry-After) and, after that, by the next attempt of the step;
 * the others fail fast with what to fix.
 */
export const FAILURE_CLASSES = {
  unauthorized: false,
  forbidden: false,
  'not-found': false,
  conflict: false,
  invalid: false,
  redirect: false,
  gone: false,
  'bad-response': false,
  throttled: true,
  server: true,
  timeout: true,
  network: true,
} as const;

export type FailureClass = keyof typeof FAILURE_CLASSES;

/** A target call that failed. The message names the target and the fix; it never holds a key or token. */
export class TargetFailure extends KeyrotError {
  readonly failureClass: FailureClass;
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(failureClass: FailureClass, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TargetFailure';
    this.failureClass = failureClass;
    this.retryable = FAILURE_CLASSES[failureClass];
    this.status = options?.status;
  }
}

/** The class of an HTTP status that is not a success. */
export function classifyStatus(status: number): FailureClass {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 410) return 'gone';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  if (status >= 300 && status < 400) return 'redirect';
  return 'invalid';
}
