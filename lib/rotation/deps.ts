import type { AwsClients } from '../aws/clients.js';
import { ssmPortFactory } from '../aws/ssm.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { buildTarget } from '../targets/adapters/index.js';
import { defaultHttpSettings, type Target, type TargetDeps, type TargetLogger } from '../targets/port.js';
import { defaultRegistry, type TargetRegistry } from '../targets/registry.js';
import { tokenReader } from '../targets/tokens.js';
import type { RotationDeps } from './steps.js';

export interface RotationDepsOptions {
  registry?: TargetRegistry;
  logger?: TargetLogger;
  /** Replaces parts of what adapters get (tests: fetch, HTTP timings, an SSM port). */
  targetDeps?: Partial<TargetDeps>;
}

const quiet: TargetLogger = { info: () => {}, warn: () => {} };

/**
 * Builds the rotation deps from config: targets per user, built with the adapters (this module is
 * the one place that imports them, so only the rotate function bundles them), tokens read from
 * Secrets Manager under `targetSecretPrefix`, timings from settings.
 */
export function rotationDeps(
  clients: RotationDeps['clients'] & Partial<AwsClients>,
  clock: Clock,
  config: Config,
  options: RotationDepsOptions = {},
): RotationDeps {
  const registry = options.registry ?? defaultRegistry;
  const logger = options.logger ?? quiet;
  let targetDeps: TargetDeps | undefined;
  const depsForTargets = (): TargetDeps => {
    targetDeps ??= {
      fetch: globalThis.fetch,
      readToken: tokenReader(clients.secrets, config.targetSecretPrefix),
      // Providers compare timestamps with their own clocks (a webhook's signed timestamp, a rate-limit
      // reset), so adapters read the wall clock even when the rotation runs on a simulated one (--now);
      // waiting still goes through the given clock.
      clock: { now: () => new Date(), sleep: (ms) => clock.sleep(ms) },
      logger,
      http: defaultHttpSettings,
      // Signed with the same credentials as every other client (the rotate role in Lambda).
      ssm: ssmPortFactory({ credentials: () => clients.secrets.config.credentials() }),
      ...options.targetDeps,
    };
    return targetDeps;
  };
  const built = new Map<string, readonly Target[]>();
  return {
    clients,
    clock,
    logger,
    targetsFor(userName) {
      let targets = built.get(userName);
      if (targets === undefined) {
        targets = (config.users[userName]?.targets ?? []).map((spec) =>
          buildTarget(spec, registry, depsForTargets()),
        );
        built.set(userName, targets);
      }
      return targets;
    },
    settings: {
      propagationTimeoutMs: config.rotation.propagationTimeoutSeconds * 1000,
      abandonAfterMs: config.rotation.abandonAfterMinutes * 60_000,
      targetConcurrency: config.rotation.targetConcurrency,
      idleDaysBeforeDeactivate: config.policy.idleDaysBeforeDeactivate,
      deleteAfterDays: config.policy.deleteAfterDays,
    },
  };
}
