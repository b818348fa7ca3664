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

/** The user or secret is not one keyrot may rotate (outside the machine path, or not keyrot's). */
export class NotManagedError extends KeyrotError {
  override readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotManagedError';
  }
}

/** A rotation can't go ahead now: another one is under way. Nothing was changed; try again later. */
export class RotationInProgressError extends KeyrotError {
  override readonly exitCode = 4;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RotationInProgressError';
  }
}

/** The user has no free key slot that keyrot may use. Nothing was deleted. */
export class KeyLimitError extends KeyrotError {
  override readonly exitCode = 4;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyLimitError';
  }
}

/** Pushing the new key to a target, or verifying it there, failed. The old key stays current. */
export class TargetError extends KeyrotError {
  /** The target that failed, when one did (alerts and metrics name its type). */
  readonly target?: { type: string; name: string };
  constructor(message: string, options?: { cause?: unknown; target?: { type: string; name: string } }) {
    super(message, options);
    this.name = 'TargetError';
    if (options?.target) this.target = options.target;
  }
}

/** The new key did not prove itself (sts:GetCallerIdentity) in time. The old key stays current. */
export class KeyTestError extends KeyrotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyTestError';
  }
}

/**
 * The key guard refused to deactivate or delete a key: it is the current or pending key, the last
 * active key, still in use, or a rollback reserve. Nothing was changed.
 */
export class KeyGuardError extends KeyrotError {
  override readonly exitCode = 4;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyGuardError';
  }
}

/**
 * A machine user whose secret gives it no working key (AWSCURRENT missing, unreadable, or naming a key
 * IAM does not have or that is inactive). keyrot reports it and touches none of its keys.
 */
export class BrokenUserError extends KeyrotError {
  override readonly exitCode = 5;
  constructor(
    message: string,
    /** What is broken and the command that fixes it. */
    readonly broken: { reason: string; detail: string; fix: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BrokenUserError';
  }
}

/** AWS kept failing on its side (HTTP 5xx, an unreadable answer) after every retry. Re-run later. */
export class AwsServiceError extends KeyrotError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsServiceError';
  }
}
