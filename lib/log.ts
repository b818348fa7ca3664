import { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';

const SECRET_KEYS =
  /secretaccesskey|secret_access_key|secretstring|secretbinary|sessiontoken|password|authorization|^token$/i;
/**
 * 40 characters of the base64 alphabet standing alone: the shape of an AWS secret access key. An `=`
 * just before them still counts as standing alone: a key holds no `=` (and base64 pads only at its
 * end), so there it ends an assignment (`secretKey=…`, `--secret-access-key=…`).
 */
const SECRET_SHAPE = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g;
/**
 * 100 or more characters of the base64 alphabet in a row: the shape of an STS session token (they
 * run from a few hundred to over a thousand). Nothing else keyrot writes looks like this.
 */
const TOKEN_SHAPE = /[A-Za-z0-9/+=]{100,}/g;
/** A secret-named field written out as text: `SecretAccessKey=…`, `"SessionToken": "…"`, `password: …`. */
const SECRET_ASSIGNMENT =
  /(secret_?access_?key|session_?token|secret_?string|password|authorization)(["']?\s*[=:]\s*["']?)[^\s"'&,;)]+/gi;

export const REDACTED = '[REDACTED]';

/** Removes secret-shaped text (secret access keys, session tokens) from a string. */
export function redactText(text: string): string {
  return text
    .replace(SECRET_ASSIGNMENT, `$1$2${REDACTED}`)
    .replace(TOKEN_SHAPE, REDACTED)
    .replace(SECRET_SHAPE, REDACTED);
}

/** Removes key material before anything is serialized: secret-named fields and secret-shaped strings. */
export function redact(key: string, value: unknown): unknown {
  // JSON.stringify calls this first with the key '' for the root value; no secret name matches ''.
  if (SECRET_KEYS.test(key) && value !== undefined && value !== null) return REDACTED;
  if (typeof value === 'string') return redactText(value);
  return value;
}

/**
 * Scrubs an error before it leaves keyrot (a Lambda's thrown error is printed by the runtime, the
 * CLI prints messages and, with --verbose, stacks): its message and stack, and those of its causes,
 * lose anything secret-shaped. The error keeps its class, so callers still narrow with instanceof.
 */
export function redactError<T>(error: T): T {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); ) {
    seen.add(current);
    current.message = redactText(current.message);
    if (typeof current.stack === 'string') current.stack = redactText(current.stack);
    current = current.cause;
  }
  return error;
}

/** A middy middleware that scrubs whatever error the handler throws (see redactError). */
export function redactErrors(): MiddlewareObj {
  return {
    onError: (request) => {
      request.error = redactError(request.error);
    },
  };
}

/** The Powertools logger every Lambda uses, with redaction applied to every field it writes. */
export function createLogger(serviceName = 'keyrot'): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redact });
}
