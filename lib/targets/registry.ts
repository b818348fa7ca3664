import * as z from 'zod/mini';
import type { $ZodIssue } from 'zod/v4/core';
import { catalog, type TargetType } from './catalog.js';

/** A target as configured: its type, a name unique for the user, and the type's own options. */
export interface TargetSpec {
  type: string;
  name: string;
  options: unknown;
}

export interface TargetRegistry {
  types(): string[];
  /**
   * Problems with one user's target list, each naming the field; empty when valid. Options that name
   * a token secret must lie under `targetSecretPrefix`.
   */
  check(specs: readonly TargetSpec[], field: string, targetSecretPrefix?: string): string[];
  /** The options as the type's schema parses them (defaults filled in); throws when invalid. */
  options(spec: TargetSpec): unknown;
}

/** Target names become tag keys on the secret (keyrot:target:<name>), so they use tag characters. */
const TARGET_NAME = /^[A-Za-z0-9_.:=+@-]{1,64}$/;

/**
 * The registry of target types (schemas only: no adapter code). It rejects at load time what would otherwise fail mid-rotation: an
 * unknown type, a duplicate name, and options its strict schema refuses (typos included).
 */
export function createRegistry(factories: readonly TargetType[]): TargetRegistry {
  const byType = new Map<string, TargetType>();
  for (const factory of factories) {
    if (byType.has(factory.type)) throw new Error(`target type "${factory.type}" is registered twice`);
    byType.set(factory.type, factory);
  }
  const known = () => (byType.size > 0 ? [...byType.keys()].join(', ') : 'none are available yet');
  return {
    types: () => [...byType.keys()],
    check(specs, field, targetSecretPrefix) {
      const problems: string[] = [];
      const names = new Set<string>();
      specs.forEach((spec, index) => {
        const at = `${field}[${index}]`;
        if (names.has(spec.name))
          problems.push(`${at}.name: "${spec.name}" is used twice; target names must be unique per user`);
        names.add(spec.name);
        if (!TARGET_NAME.test(spec.name))
          problems.push(`${at}.name: "${spec.name}" must be 1 to 64 letters, digits or _.:=+@-`);
        const factory = byType.get(spec.type);
        if (factory === undefined) {
          problems.push(`${at}.type: unknown target type "${spec.type}"; known types: ${known()}`);
          return;
        }
        const result = z.safeParse(factory.options, spec.options);
        if (!result.success) {
          for (const issue of result.error.issues)
            problems.push(describeOption(issue, at, spec.options, allowedKeys(factory.options, issue.path)));
          return;
        }
        for (const option of factory.secretOptions) {
          const value = (result.data as Record<string, unknown>)[option];
          if (
            targetSecretPrefix !== undefined &&
            typeof value === 'string' &&
            !value.startsWith(targetSecretPrefix)
          )
            problems.push(
              `${at}.${option}: "${value}" is outside targetSecretPrefix "${targetSecretPrefix}"`,
            );
        }
      });
      return problems;
    },
    options(spec) {
      const factory = byType.get(spec.type);
      if (factory === undefined)
        throw new Error(`unknown target type "${spec.type}"; known types: ${known()}`);
      return z.parse(factory.options, spec.options);
    },
  };
}

/** The option names an object schema allows at `path` (nested settings such as `redeploy` included). */
function allowedKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  type Def = { shape?: Record<string, unknown>; innerType?: unknown };
  const defOf = (s: unknown): Def => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def ?? {};
  // Optional and default wrappers hold the object in innerType.
  const unwrap = (s: unknown): unknown => {
    let current = s;
    while (defOf(current).innerType !== undefined) current = defOf(current).innerType;
    return current;
  };
  let current = unwrap(schema);
  for (const key of path) current = unwrap(defOf(current).shape?.[String(key)]);
  return Object.keys(defOf(current).shape ?? {});
}

/** One problem with a target's options, in the words a user needs to fix it. */
function describeOption(issue: $ZodIssue, at: string, options: unknown, allowed: string[]): string {
  const field = `${at}${issue.path.length > 0 ? `.${issue.path.join('.')}` : ''}`;
  let value: unknown = options;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys
        .map((key) => `${field}.${key}: unknown option; allowed: ${allowed.join(', ')}`)
        .join('\n  - ');
    case 'invalid_type':
      return `${field}: expected ${issue.expected}, got ${value === undefined ? 'nothing (it is required)' : JSON.stringify(value)}`;
    case 'invalid_format':
      return `${field}: ${JSON.stringify(value)} does not match ${'pattern' in issue ? issue.pattern : issue.format}`;
    default:
      return `${field}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
  }
}

/** The target types keyrot ships with (their schemas; the adapters are in lib/targets/adapters/). */
export const defaultRegistry: TargetRegistry = createRegistry(catalog);

/** The raw shape of one configured target before its type checks its options. */
export const targetSpecSchema = z.pipe(
  z.looseObject({
    type: z.string().check(z.minLength(1)),
    name: z.string().check(z.minLength(1), z.maxLength(64)),
  }),
  z.transform(({ type, name, ...options }): TargetSpec => ({ type, name, options })),
);
