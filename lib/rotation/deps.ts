import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { defaultRegistry, type TargetRegistry } from '../targets/registry.js';
import type { Target } from '../targets/target.js';
import type { RotationDeps } from './steps.js';

/** Builds the rotation deps from config: targets per user from the registry, timings from settings. */
export function rotationDeps(
  clients: RotationDeps['clients'] & Partial<AwsClients>,
  clock: Clock,
  config: Config,
  registry: TargetRegistry = defaultRegistry,
): RotationDeps {
  const built = new Map<string, readonly Target[]>();
  return {
    clients,
    clock,
    targetsFor(userName) {
      let targets = built.get(userName);
      if (targets === undefined) {
        targets = (config.users[userName]?.targets ?? []).map((spec) => registry.build(spec, { fetch }));
        built.set(userName, targets);
      }
      return targets;
    },
    settings: {
      propagationTimeoutMs: config.rotation.propagationTimeoutSeconds * 1000,
      abandonAfterMs: config.rotation.abandonAfterMinutes * 60_000,
      idleDaysBeforeDeactivate: config.policy.idleDaysBeforeDeactivate,
      deleteAfterDays: config.policy.deleteAfterDays,
    },
  };
}
