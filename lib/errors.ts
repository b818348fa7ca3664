/**
 * Error classes. Each names what is wrong and what to do; the CLI maps them to exit codes.
 * Exit codes: 2 = the user's input is wrong (usage, config), 3 = AWS can't be reached or refuses us
 * (endpoint, credentials, permissions), 1 = anything else (a failure of AWS or of keyrot itself).
 */
export class KeyrotError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyrotError';
  }
}

/** A bad command line. */
export class UsageError extends KeyrotError {
  override readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A configuration file or environment variable that is missing, unreadable or invalid. */
export class ConfigError extends KeyrotError {
  override readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** AWS could not be reached, or refused our credentials or the call. */
export class AwsAccessError extends KeyrotError {
  override readonly exitCode = 3;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsAccessError';
  }
}

/** Reading IAM state failed in a way retries did not fix (e.g. the credential report never completed). */
export class InventoryError extends KeyrotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InventoryError';
  }
}
