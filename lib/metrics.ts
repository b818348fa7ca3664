import { Metrics } from '@aws-lambda-powertools/metrics';
import { DAY_MS } from './clock.js';

/** keyrot's CloudWatch metrics namespace: every metric below, one place for alarms and the dashboard. */
export const METRICS_NAMESPACE = 'keyrot';

/** Every metric keyrot emits, with its unit and the dimension it may carry. */
export const METRIC_CATALOGUE = {
  KeysRotated: { unit: 'Count' },
  RotationsFailed: { unit: 'Count', dimension: 'Step', total: true },
  TargetPushesFailed: { unit: 'Count', dimension: 'TargetType', total: true },
  StaleKeysFound: { unit: 'Count' },
  HeldKeys: { unit: 'Count' },
  /** Days: CloudWatch has no unit for days, so the unit is None and the name says it. */
  OldestMachineKeyAgeDays: { unit: 'None' },
  KeysByAgeBucket: { unit: 'Count', dimension: 'AgeBucket' },
  AlertsSent: { unit: 'Count', dimension: 'Channel', total: true },
  AlertsDeduplicated: { unit: 'Count' },
  AlertsFailed: { unit: 'Count', dimension: 'Channel', total: true },
} as const satisfies Record<string, MetricSpec>;

interface MetricSpec {
  unit: 'Count' | 'None';
  /** The metric is also written per value of this dimension. */
  dimension?: string;
  /** Also written without the dimension, as a total that an alarm can watch. */
  total?: boolean;
}

export type MetricName = keyof typeof METRIC_CATALOGUE;

/** The metrics port: lib code counts; the handler decides where it goes (EMF in Lambda, nowhere in the CLI). */
export interface MetricsPort {
  /** `dimension` is the value of the metric's one dimension (see METRIC_CATALOGUE). */
  add(name: MetricName, value: number, dimension?: string): void;
}

export const noMetrics: MetricsPort = { add: () => undefined };

/**
 * Powertools Metrics, as the port. Metrics without a dimension are buffered and flushed by the
 * handler's `logMetrics` middleware; a metric with a dimension is written at once as its own EMF
 * document, so its dimension never leaks onto the others, and, for failure counts, also added to the
 * buffered total that the alarms watch (CloudWatch alarms can't sum across a dimension's values).
 */
export function powertoolsMetrics(metrics: Metrics): MetricsPort {
  return {
    add(name, value, dimension) {
      const spec: MetricSpec = METRIC_CATALOGUE[name];
      if (spec.dimension !== undefined && dimension !== undefined) {
        const single = metrics.singleMetric();
        single.addDimension(spec.dimension, dimension);
        single.addMetric(name, spec.unit, value);
        if (spec.total) metrics.addMetric(name, spec.unit, value);
      } else {
        metrics.addMetric(name, spec.unit, value);
      }
    },
  };
}

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'keyrot' });
}

/** Age buckets for the dashboard (days). */
export const AGE_BUCKETS = [
  { name: '0-30d', upTo: 30 },
  { name: '31-60d', upTo: 60 },
  { name: '61-90d', upTo: 90 },
  { name: '91-180d', upTo: 180 },
  { name: 'over-180d', upTo: Number.POSITIVE_INFINITY },
] as const;

/**
 * The key-age picture of the machine users' active keys, as of `now`: the oldest key's age in days
 * and how many keys fall in each bucket (every bucket, zeros included, so the graph has no gaps).
 */
export function keyAgePicture(
  createdDates: readonly Date[],
  now: Date,
): { oldestDays: number; buckets: Array<{ name: string; keys: number }> } {
  const ages = createdDates.map((d) => Math.max(0, Math.floor((now.getTime() - d.getTime()) / DAY_MS)));
  return {
    oldestDays: ages.length === 0 ? 0 : Math.max(...ages),
    buckets: AGE_BUCKETS.map((bucket, i) => {
      const from = i === 0 ? 0 : (AGE_BUCKETS[i - 1]?.upTo ?? 0) + 1;
      return { name: bucket.name, keys: ages.filter((a) => a >= from && a <= bucket.upTo).length };
    }),
  };
}
