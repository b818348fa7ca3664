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
