import { Logger } from '@aws-lambda-powertools/logger';

const SECRET_KEYS =
  /secretaccesskey|secret_access_key|secretstring|secretbinary|sessiontoken|password|authorization|^token$/i;
/** 40 characters of the base64 alphabet standing alone: the shape of an AWS secret access key. */
const SECRET_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g;

export const REDACTED = '[REDACTED]';

/** Removes key material before anything is serialized: secret-named fields and secret-shaped strings. */
export function redact(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEYS.test(key) && value !== undefined && value !== null) return REDACTED;
  if (typeof value === 'string') return value.replace(SECRET_SHAPE, REDACTED);
  return value;
}

/** The Powertools logger every Lambda uses, with redaction applied to every field it writes. */
export function createLogger(serviceName = 'keyrot'): Logger {
  return new Logger({ serviceName, jsonReplacerFn: redact });
}
