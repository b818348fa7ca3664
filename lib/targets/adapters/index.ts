import { TargetFailure } from '../failure.js';
import type { CreateTarget, Target, TargetDeps } from '../port.js';
import type { TargetRegistry, TargetSpec } from '../registry.js';
import { createAwsSsm } from './aws-ssm.js';
import { createGithubActions } from './github-actions.js';
import { createGitlab } from './gitlab.js';
import { createWebhook } from './webhook.js';

/** The adapters, by target type. Only the rotate function and the CLI import this module. */
export const builtInAdapters: Readonly<Record<string, CreateTarget<never>>> = {
  'github-actions': createGithubActions as CreateTarget<never>,
  gitlab: createGitlab as CreateTarget<never>,
  'aws-ssm': createAwsSsm as CreateTarget<never>,
  webhook: createWebhook as CreateTarget<never>,
};

/** Builds a configured target: options parsed by the type's schema, then the type's adapter. */
export function buildTarget(
  spec: TargetSpec,
  registry: TargetRegistry,
  deps: TargetDeps,
  adapters: Readonly<Record<string, CreateTarget<never>>> = builtInAdapters,
): Target {
  const create = adapters[spec.type];
  if (create === undefined)
    throw new TargetFailure('invalid', `target "${spec.name}": no adapter for type "${spec.type}"`);
  return create(spec.name, registry.options(spec) as never, deps);
}
