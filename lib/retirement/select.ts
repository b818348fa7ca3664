import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type CredentialReportRow, fetchCredentialReport } from '../inventory/credential-report.js';
import { listManagedSecrets, type ManagedSummary } from '../secret/list.js';
import { LIFECYCLE_TAG } from '../secret/secret.js';

/** What retirement's selection needs of a keyrot secret: its tags (from ListSecrets, never its value). */
export type ListedSecret = Pick<ManagedSummary, 'tags'>;

/** Tag-key prefixes of retirement's per-key records. */
const LIFECYCLE_TAG_PREFIXES = [LIFECYCLE_TAG.deactivated(''), LIFECYCLE_TAG.inactiveSeen('')];

/** Why a machine user was selected for per-user retirement calls. */
export type SelectionReason = 'not-in-report' | 'two-keys' | 'inactive-key' | 'lifecycle-records';

export interface RetirementSelection {
  /** Machine users (ListUsers under the machine path). */
  machineUsers: number;
  /** Machine users with a keyrot secret. */
  managed: number;
  /** The users that get per-user calls, sorted, with why. */
  selected: Array<{ userName: string; reason: SelectionReason }>;
}

/**
 * Decides, from the inventory alone, which machine users may hold a key retirement can act on: a key
 * that is not AWSCURRENT's. Pure. A user is selected when it has a keyrot secret and
 * - it has no row in the credential report (created after it, so its keys are unknown); or
 * - the report shows two keys, or a key in slot 2 (slot 1 then holds one too: AWS documents a slot's
 *   `last_rotated` as N/A when it holds no active key, so an inactive key can show as an empty slot);
 *   or an inactive key; or
 * - its secret carries retirement's per-key records (a deactivation to follow up with a deletion, an
 *   inactive key being counted down, or records of a deleted key to forget).
 * Every other managed user holds no key, or one active key: retirement never touches a user's only
 * active key, so it has nothing to do there. Users without a secret are not onboarded: retirement
 * leaves them alone, and makes no call about them (real IAM answers AccessDenied, not
 * ResourceNotFound, to a DescribeSecret that the retire role's tag condition can't match).
 *
 * A report up to 4 hours old can only delay a selection to the next run, never hasten an action:
 * each selected user's keys and secret are read again, live, before anything is decided.
 */
export function selectForRetirement(input: {
  machineUsers: readonly string[];
  secrets: ReadonlyMap<string, ListedSecret>;
  reportRows: readonly CredentialReportRow[];
}): RetirementSelection {
  const rows = new Map(input.reportRows.map((row) => [row.userName, row]));
  const selected: RetirementSelection['selected'] = [];
  let managed = 0;
  for (const userName of [...input.machineUsers].sort()) {
    const secret = input.secrets.get(userName);
    if (secret === undefined) continue;
    managed++;
    const reason = reasonFor(rows.get(userName), secret);
    if (reason) selected.push({ userName, reason });
  }
  return { machineUsers: input.machineUsers.length, managed, selected };
}

function reasonFor(row: CredentialReportRow | undefined, secret: ListedSecret): SelectionReason | undefined {
  if (row === undefined) return 'not-in-report';
  if (row.keys.length > 1 || row.keys.some((k) => k.slot === 2)) return 'two-keys';
  if (row.keys.some((k) => k.status === 'Inactive')) return 'inactive-key';
  if (Object.keys(secret.tags).some((key) => LIFECYCLE_TAG_PREFIXES.some((p) => key.startsWith(p))))
    return 'lifecycle-records';
  return undefined;
}

/**
 * Reads the inventory retirement selects from, with a constant number of calls: the machine users
 * (given), the credential report (GenerateCredentialReport until complete, GetCredentialReport) and
 * the keyrot secrets (ListSecrets, one page per 100 secrets).
 */
export async function readSelectionInventory(
  deps: {
    clients: { iam: Parameters<typeof fetchCredentialReport>[0]; secrets: SecretsManagerClient };
    clock: Clock;
  },
  config: Pick<Config, 'secretPrefix' | 'inventory'>,
): Promise<{ secrets: Map<string, ListedSecret>; reportRows: CredentialReportRow[] }> {
  const secrets = new Map(Object.entries(await listManagedSecrets(deps.clients.secrets, config)));
  // No keyrot secret at all: nothing to retire, and no need to ask IAM for the report.
  if (secrets.size === 0) return { secrets, reportRows: [] };
  const report = await fetchCredentialReport(deps.clients.iam, {
    clock: deps.clock,
    timeoutMs: config.inventory.reportTimeoutSeconds * 1000,
  });
  return { secrets, reportRows: report.rows };
}
