import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseIsoDate } from '../clock.js';
import { UsageError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing: an unknown flag or a missing value is a UsageError naming it. */
export function parseFlags<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, verbose: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '') : String(error);
    throw new UsageError(`${message}. Run "keyrot ${command} --help" for its options.`, { cause: error });
  }
}

/** `--now` as a Date, or a UsageError that shows the accepted form. */
export function parseNow(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = parseIsoDate(value);
  if (date === undefined) {
    throw new UsageError(
      `--now "${value}" is not an ISO date; use e.g. --now 2027-03-01 or --now 2027-03-01T12:00:00Z.`,
    );
  }
  return date;
}

/**
 * `--now` for a command that changes AWS state. Simulated time stamps records (cut-overs, deactivation
 * dates) and decides what retirement deletes, so on a real account it would delete keys in use: it is
 * accepted only when AWS_ENDPOINT_URL points at an emulator on this machine.
 */
export function parseNowForChange(value: string | undefined, command: string): Date | undefined {
  const now = parseNow(value);
  if (now === undefined) return undefined;
  const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
  let host = '';
  try {
    host = endpoint ? new URL(endpoint).hostname : '';
  } catch {
    host = '';
  }
  const loopback = host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  if (!loopback) {
    throw new UsageError(
      `--now is refused for "keyrot ${command}" against real AWS: it records simulated times on the secret and decides deletions as of that date, which would retire keys still in use. Use --now only with AWS_ENDPOINT_URL pointing at a local emulator (moto, LocalStack)${endpoint ? `; AWS_ENDPOINT_URL is ${endpoint}, not a loopback address` : ''}, or use "keyrot plan --now" / "keyrot retire --dry-run --now" to preview. Nothing was changed.`,
    );
  }
  return now;
}
