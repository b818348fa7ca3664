import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMetrics,
  keyAgePicture,
  METRIC_CATALOGUE,
  type MetricName,
  powertoolsMetrics,
} from '../../lib/metrics.js';
import { plan } from '../../lib/policy/plan.js';
import { recordScanMetrics } from '../../lib/scan.js';
import { daysAgo, inventory, key, NOW, policy, user } from '../helpers/builders.js';

afterEach(() => vi.restoreAllMocks());

interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

/** Every EMF document written to stdout, parsed. */
function emf(stdout: { mock: { calls: unknown[][] } }): EmfDocument[] {
  return stdout.mock.calls
    .map((c) => String(c[0]))
    .filter((t) => t.includes('"_aws"'))
    .map((t) => JSON.parse(t) as EmfDocument);
}

/** metric name -> {unit, value, dimensions} for each document's metrics. */
function metricsIn(docs: EmfDocument[]) {
  return docs.flatMap((doc) =>
    doc._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((m) => ({
        namespace: directive.Namespace,
        name: m.Name,
        unit: m.Unit,
        value: doc[m.Name],
        dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((d) => [d, doc[d]])),
      })),
    ),
  );
}

describe('Powertools metrics (EMF)', () => {
  it('writes every catalogue metric in the keyrot namespace, with its unit and dimension', () => {
    // Prepare
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const metrics = createMetrics();
    const port = powertoolsMetrics(metrics);
    // Act
    port.add('KeysRotated', 1);
    port.add('RotationsFailed', 1, 'testSecret');
    port.add('TargetPushesFailed', 1, 'github-actions');
    port.add('StaleKeysFound', 3);
    port.add('HeldKeys', 2);
    port.add('OldestMachineKeyAgeDays', 120);
    port.add('KeysByAgeBucket', 4, '91-180d');
    port.add('AlertsSent', 1, 'slack');
    port.add('AlertsDeduplicated', 5);
    port.add('AlertsFailed', 1, 'sns');
    metrics.publishStoredMetrics();
    // Assess
    const found = metricsIn(emf(stdout));
    expect(new Set(found.map((m) => m.namespace))).toEqual(new Set(['keyrot']));
    for (const [name, spec] of Object.entries(METRIC_CATALOGUE) as Array<
      [MetricName, (typeof METRIC_CATALOGUE)[MetricName]]
    >) {
      const all = found.filter((m) => m.name === name);
      expect(all.length, name).toBeGreaterThan(0);
      for (const m of all) expect(m.unit, name).toBe(spec.unit);
    }
    expect(found).toContainEqual({
      namespace: 'keyrot',
      name: 'RotationsFailed',
      unit: 'Count',
      value: 1,
      dimensions: { service: 'keyrot', Step: 'testSecret' },
    });
    // The failure counts also go out as a total on the service dimension alone: the alarms watch that.
    for (const name of ['RotationsFailed', 'TargetPushesFailed', 'AlertsFailed'])
      expect(found).toContainEqual({
        namespace: 'keyrot',
        name,
        unit: 'Count',
        value: 1,
        dimensions: { service: 'keyrot' },
      });
    expect(found).toContainEqual({
      namespace: 'keyrot',
      name: 'KeysByAgeBucket',
      unit: 'Count',
      value: 4,
      dimensions: { service: 'keyrot', AgeBucket: '91-180d' },
    });
    expect(found.filter((m) => m.name === 'KeysByAgeBucket' && m.dimensions.AgeBucket === undefined)).toEqual(
      [],
    );
    expect(found).toContainEqual({
      namespace: 'keyrot',
      name: 'OldestMachineKeyAgeDays',
      unit: 'None',
      value: 120,
      dimensions: { service: 'keyrot' },
    });
  });

  it("the scan's key-age picture: machine users' active keys only, every bucket, oldest in days", () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const metrics = createMetrics();
    const result = plan(
      inventory([
        user({
          userName: 'a',
          keys: [
            key({ createdAt: daysAgo(10) }),
            key({ createdAt: daysAgo(100), accessKeyId: 'AKIAEXAMPLE000000002' }),
          ],
        }),
        user({ userName: 'b', keys: [key({ createdAt: daysAgo(400), status: 'Inactive' })] }),
        user({ userName: 'human', path: '/', keys: [key({ createdAt: daysAgo(900) })] }),
      ]),
      policy,
      NOW,
    );
    recordScanMetrics(powertoolsMetrics(metrics), { plan: result, inventory: inventory([]) }, NOW);
    metrics.publishStoredMetrics();
    const found = metricsIn(emf(stdout));
    expect(found.find((m) => m.name === 'OldestMachineKeyAgeDays')?.value).toBe(100);
    expect(found.find((m) => m.name === 'StaleKeysFound')?.value).toBe(2);
    expect(
      Object.fromEntries(
        found.filter((m) => m.name === 'KeysByAgeBucket').map((m) => [m.dimensions.AgeBucket, m.value]),
      ),
    ).toEqual({ '0-30d': 1, '31-60d': 0, '61-90d': 0, '91-180d': 1, 'over-180d': 0 });
  });

  it('keyAgePicture puts each age in exactly one bucket', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const ages = [0, 30, 31, 60, 61, 90, 91, 180, 181];
    const picture = keyAgePicture(
      ages.map((a) => daysAgo(a, now)),
      now,
    );
    expect(picture.oldestDays).toBe(181);
    expect(picture.buckets.map((b) => b.keys)).toEqual([2, 2, 2, 2, 1]);
    expect(keyAgePicture([], now).oldestDays).toBe(0);
  });
});
