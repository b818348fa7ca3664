import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { errorName, isThrottling } from '../aws/errors.js';
import type { Clock } from '../clock.js';
import { InventoryError } from '../errors.js';
import type { AccessKeyRecord, KeyStatus } from './types.js';

/** One user's row of the IAM credential report, with its quirks already resolved. */
export interface CredentialReportRow {
  userName: string;
  arn: string;
  passwordEnabled: boolean;
  /** Key slots 1 and 2 that hold a key (see parseCredentialReport for slots without a date). */
  keys: AccessKeyRecord[];
}

export interface CredentialReport {
  generatedAt?: Date;
  rows: CredentialReportRow[];
}

export interface ReportOptions {
  clock: Clock;
  /** Give up after this long without a complete report. */
  timeoutMs: number;
  /** First wait between polls; doubles up to 8 s. */
  initialPollMs?: number;
}

/** Errors of GetCredentialReport that mean "generate it and ask again". */
const NOT_READY = new Set([
  'ReportInProgress',
  'ReportNotPresent',
  'ReportExpired',
  'CredentialReportNotReadyException',
  'CredentialReportNotPresentException',
  'CredentialReportExpiredException',
]);

/**
 * Asks IAM for a credential report and waits until it is complete. IAM generates at most one report
 * every 4 hours: a request within that window returns the existing report, so the data may be up to
 * 4 hours old (`generatedAt` says how old). A report that is still being generated, missing or expired
 * is asked for again with backoff; throttling beyond the SDK's own retries is waited out the same way.
 */
export async function fetchCredentialReport(
  iam: IAMClient,
  options: ReportOptions,
): Promise<CredentialReport> {
  const { clock } = options;
  const deadline = clock.now().getTime() + options.timeoutMs;
  let wait = options.initialPollMs ?? 500;
  let lastState = 'not requested';
  for (;;) {
    try {
      const generated = await iam.send(new GenerateCredentialReportCommand({}));
      lastState = generated.State ?? 'unknown';
      if (generated.State === 'COMPLETE') {
        const report = await iam.send(new GetCredentialReportCommand({}));
        const text = decodeContent(report.Content);
        return {
          ...(report.GeneratedTime ? { generatedAt: report.GeneratedTime } : {}),
          rows: parseCredentialReport(text),
        };
      }
    } catch (error) {
      const name = errorName(error) ?? '';
      if (
        !NOT_READY.has(name) &&
        !isThrottling(error) &&
        name !== 'LimitExceeded' &&
        name !== 'LimitExceededException'
      ) {
        throw error;
      }
      lastState = name;
    }
    if (clock.now().getTime() + wait > deadline) {
      throw new InventoryError(
        `IAM did not finish the credential report within ${Math.round(options.timeoutMs / 1000)} s (last state: ${lastState}). Run again in a minute, raise inventory.reportTimeoutSeconds, or use inventory.strategy "exact".`,
      );
    }
    await clock.sleep(wait);
    wait = Math.min(wait * 2, 8_000);
  }
}

function decodeContent(content: Uint8Array | string | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return Buffer.from(content, 'base64').toString('utf8');
  return new TextDecoder().decode(content);
}

const KEY_COLUMNS = [
  'active',
  'last_rotated',
  'last_used_date',
  'last_used_region',
  'last_used_service',
] as const;

/**
 * Parses the report's CSV. Quirks handled: `N/A`, `no_information` and `not_supported` mean "no value";
 * the `<root_account>` row is skipped (it is not an IAM user); fields may be quoted; and user names
 * may contain commas, which the report does not quote, so such rows are re-joined from the right.
 */
export function parseCredentialReport(csv: string): CredentialReportRow[] {
  const lines = csv.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  const columns = splitCsvLine(header);
  const rows: CredentialReportRow[] = [];
  for (const line of lines) {
    const fields = rejoinNameAndArn(splitCsvLine(line), columns.length);
    const record = new Map(columns.map((column, i) => [column, fields[i] ?? '']));
    const userName = record.get('user') ?? '';
    if (userName === '<root_account>' || userName === '') continue;
    const keys: AccessKeyRecord[] = [];
    for (const slot of [1, 2] as const) {
      const field = (name: (typeof KEY_COLUMNS)[number]) => value(record.get(`access_key_${slot}_${name}`));
      const rotated = parseDate(field('last_rotated'));
      const lastUsedAt = parseDate(field('last_used_date'));
      const service = field('last_used_service');
      const status: KeyStatus = field('active') === 'true' ? 'Active' : 'Inactive';
      // AWS documents last_rotated as N/A when "the user does not have an active access key" (IAM
      // User Guide, "Getting credential reports for your AWS account"), so an inactive key may show
      // no date, which moto never does. A slot with no date but a last use holds such a key; its
      // creation is bounded by that use. A slot with neither is empty, or a never-used inactive key
      // the report can't show: keyrot reads live keys (ListAccessKeys) before acting on a user.
      const createdAt = rotated ?? (status === 'Inactive' ? lastUsedAt : undefined);
      if (createdAt === undefined) continue;
      keys.push({
        slot,
        status,
        createdAt,
        ...(rotated === undefined ? { createdAtUnknown: true } : {}),
        ...(lastUsedAt ? { lastUsedAt } : {}),
        ...(lastUsedAt && service ? { lastUsedService: service } : {}),
      });
    }
    rows.push({
      userName,
      arn: record.get('arn') ?? '',
      passwordEnabled: value(record.get('password_enabled')) === 'true',
      keys,
    });
  }
  return rows;
}

function value(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '' || raw === 'N/A' || raw === 'no_information' || raw === 'not_supported')
    return undefined;
  return raw;
}

function parseDate(raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        current += char;
      }
    } else if (char === '"' && current === '') {
      quoted = true;
    } else if (char === ',') {
      fields.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  fields.push(current);
  return fields;
}

/**
 * A user name with k commas, unquoted, splits into k+1 name fields and k+1 ARN fields (the ARN ends
 * with the name). Everything after them has no commas, so the extra fields belong to the front two.
 */
function rejoinNameAndArn(fields: string[], expected: number): string[] {
  const extra = fields.length - expected;
  if (extra <= 0 || extra % 2 !== 0) return fields;
  const commas = extra / 2;
  const name = fields.slice(0, commas + 1).join(',');
  const arn = fields.slice(commas + 1, 2 * commas + 2).join(',');
  return [name, arn, ...fields.slice(2 * commas + 2)];
}
