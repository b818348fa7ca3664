import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from './config.js';
import { type InventoryDeps, readInventory, resolveKeyIds } from './inventory/inventory.js';
import type { Inventory, InventoryStrategy } from './inventory/types.js';
import { keyAgePicture, type MetricsPort } from './metrics.js';
import { type Plan, plan } from './policy/plan.js';
import { listManagedSecrets } from './secret/list.js';

export interface ScanResult {
  inventory: Inventory;
  plan: Plan;
}

/**
 * Reads the account and plans. With the report strategy, key ids are then looked up for exactly the
 * machine users that have a key to act on (rotate or delete), so acting never guesses from a slot,
 * while an account with nothing to do costs a constant number of calls.
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
    inventory = await resolveKeyIds(deps, inventory, needIds, config.inventory.concurrency);
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
