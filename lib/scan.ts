import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorName } from './aws/errors.js';
import type { Config } from './config.js';
import { type InventoryDeps, readInventory, readLiveKeys } from './inventory/inventory.js';
import type { Inventory, InventoryStrategy } from './inventory/types.js';
import { keyAgePicture, type MetricsPort } from './metrics.js';
import { type Plan, plan } from './policy/plan.js';
import { listManagedSecrets } from './secret/list.js';
import { describeSecret, type SecretSnapshot, STAGE, versionWith } from './secret/secret.js';
import { recordedDrift } from './targets/drift.js';
import { readTargetRecords } from './targets/state.js';

export interface ScanResult {
  inventory: Inventory;
  plan: Plan;
}

/**
 * Reads the account and plans. With the report strategy, the keys of exactly the machine users that
 * have a key to act on (rotate or delete) are then read live from IAM and planned again, so acting
 * never relies on a report up to 4 hours old nor guesses from a slot, while an account with nothing
 * to do costs a constant number of calls.
 */
export async function scanAccount(
  deps: InventoryDeps & { clients: { secrets?: SecretsManagerClient } },
  config: Config,
  now: Date,
  strategy: InventoryStrategy = config.inventory.strategy,
): Promise<ScanResult> {
  let inventory = await readInventory(deps, config.inventory, strategy);
  // Which machine users keyrot manages, so its own grace period (two keys between a cut-over and the
  // old key's retirement) is not reported as a problem. One paginated call.
  if (deps.clients.secrets) {
    inventory = { ...inventory, managed: await listManagedSecrets(deps.clients.secrets, config) };
  }
  let result = plan(inventory, config, now);
  const needIds = [...new Set(result.actions.filter((a) => a.kind !== 'report').map((a) => a.userName))];
  if (needIds.length > 0) {
    inventory = await readLiveKeys(deps, inventory, needIds, config.inventory.concurrency);
    result = plan(inventory, config, now);
  }
  return { inventory, plan: result };
}

/** Counts for logs and metrics; holds no key material. */
export function summarize(result: ScanResult) {
  const { plan: p } = result;
  const count = (kind: string) => p.actions.filter((a) => a.kind === kind).length;
  return {
    accountId: p.accountId,
    strategy: p.strategy,
    users: p.users.length,
    machineUsers: p.users.filter((u) => u.isMachineUser).length,
    keys: p.users.reduce((n, u) => n + u.keys.length, 0),
    findings: p.findings.length,
    findingsBySeverity: {
      high: p.findings.filter((f) => f.severity === 'high').length,
      medium: p.findings.filter((f) => f.severity === 'medium').length,
      low: p.findings.filter((f) => f.severity === 'low').length,
    },
    rotate: count('rotate'),
    deleteKey: count('delete-key'),
    report: count('report'),
    reportGeneratedAt: result.inventory.reportGeneratedAt?.toISOString(),
    usersReadExactly: result.inventory.usersReadExactly.length,
  };
}

/**
 * The scan's metrics: stale keys found, and the key-age picture of the machine users' active keys
 * (the oldest key's age in days, and how many keys are in each age bucket) for the dashboard.
 */
export function recordScanMetrics(metrics: MetricsPort, result: ScanResult, now: Date): void {
  const { plan: p } = result;
  metrics.add('StaleKeysFound', p.findings.filter((f) => f.code === 'stale-key').length);
  const machineKeys = p.users
    .filter((u) => u.isMachineUser)
    .flatMap((u) => u.keys.filter((k) => k.status === 'Active').map((k) => k.createdAt));
  const picture = keyAgePicture(machineKeys, now);
  metrics.add('OldestMachineKeyAgeDays', picture.oldestDays);
  for (const bucket of picture.buckets) metrics.add('KeysByAgeBucket', bucket.keys, bucket.name);
}

/**
 * Drift of the configured targets, as recorded on each user's secret (DescribeSecret only: the scan
 * carries no adapter code and reads no secret value). One call per machine user with targets.
 */
export async function scanTargetDrift(
  secrets: Pick<SecretsManagerClient, 'send'>,
  config: Config,
): Promise<ReturnType<typeof recordedDrift>> {
  const drift = [];
  for (const [userName, settings] of Object.entries(config.users)) {
    if (settings.targets.length === 0) continue;
    let snapshot: SecretSnapshot;
    try {
      snapshot = await describeSecret(secrets as SecretsManagerClient, `${config.secretPrefix}${userName}`);
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') continue;
      throw error;
    }
    drift.push(
      ...recordedDrift(
        userName,
        settings.targets,
        readTargetRecords(snapshot.tags),
        versionWith(snapshot, STAGE.current),
        versionWith(snapshot, STAGE.pending),
      ),
    );
  }
  return drift;
}
