import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { defaultRegistry, type TargetRegistry, targetSpecSchema } from './targets/registry.js';

/** IAM path syntax: starts and ends with '/', segments of IAM path characters. */
const IAM_PATH = /^\/(?:[\w+=,.@-]+\/)*$/;

const days = (fallback: number, max = 3650) => z.number().int().min(1).max(max).default(fallback);

const policySchema = z.strictObject({
  /** An active key older than this many days is rotated. */
  maxKeyAgeDays: days(90),
  /** An active key not used for this many days (or never used) is reported. */
  unusedKeyDays: days(45),
  /** An inactive key that has been quiet for this many days is deleted. */
  deleteAfterDays: days(7),
  /** A replaced key (AWSPREVIOUS, or from before keyrot) is deactivated this many days after the cut-over... */
  deactivateAfterDays: days(7),
  /** ...and only once it has not been used for this many days. */
  idleDaysBeforeDeactivate: days(3),
  /** A replaced key still in use this many days after the cut-over is escalated to its owner. */
  escalateAfterDays: days(14),
});

const inventorySchema = z.strictObject({
  /**
   * `report`: the IAM credential report plus GetAccountAuthorizationDetails, a constant number of calls
   * per account. `exact`: per-user ListAccessKeys and GetAccessKeyLastUsed; current to the second.
   */
  strategy: z.enum(['report', 'exact']).default('report'),
  /** How many per-user IAM calls may be in flight at once. */
  concurrency: z.number().int().min(1).max(32).default(8),
  /** How long to wait for IAM to generate the credential report before giving up. */
  reportTimeoutSeconds: z.number().int().min(5).max(900).default(120),
});

const rotationSchema = z.strictObject({
  /** How long testSecret waits for IAM to accept a new key (IAM is eventually consistent). */
  propagationTimeoutSeconds: z.number().int().min(10).max(600).default(120),
  /**
   * A key created by a rotation attempt that never stored it is deleted once the attempt is this old:
   * long enough that a slow but live attempt is never mistaken for a crashed one.
   */
  abandonAfterMinutes: z.number().int().min(1).max(1440).default(15),
});

const userSchema = z.strictObject({
  /** Where the user's new key is pushed on rotation (see "Writing an adapter"). */
  targets: z.array(targetSpecSchema).default([]),
});

export const configSchema = z.strictObject({
  /** Machine users are the IAM users under this path (nested paths included). */
  machinePath: z
    .string()
    .regex(IAM_PATH, { error: 'must be an IAM path that starts and ends with "/", e.g. "/machine/"' })
    .default('/machine/'),
  /** The user tag naming a machine user's owner. */
  ownerTag: z.string().min(1).max(128).default('owner'),
  /** Machine users' secrets are named `<secretPrefix><user name>`. */
  secretPrefix: z
    .string()
    .regex(/^[\w/+=.@-]+$/, { error: 'may hold only letters, digits and /_+=.@-' })
    .default('keyrot/'),
  inventory: inventorySchema.prefault({}),
  policy: policySchema.prefault({}),
  rotation: rotationSchema.prefault({}),
  /** Per machine user settings, by IAM user name. */
  users: z
    .record(z.string().regex(/^[\w+=,.@-]{1,64}$/, { error: 'is not an IAM user name' }), userSchema)
    .default({}),
});

export type Config = z.output<typeof configSchema>;
export type PolicySettings = Config['policy'];

/** The configuration used when no file is given. */
export const defaultConfig: Config = configSchema.parse({});

/** Validates a parsed config document; `source` names it in errors (a file path or "KEYROT_CONFIG"). */
export function parseConfig(
  document: unknown,
  source: string,
  registry: TargetRegistry = defaultRegistry,
): Config {
  const result = configSchema.safeParse(document ?? {});
  const problems = result.success
    ? Object.entries(result.data.users).flatMap(([user, settings]) =>
        registry.check(settings.targets, `users.${user}.targets`),
      )
    : result.error.issues.map((issue) => describeIssue(issue, document));
  if (result.success && problems.length === 0) return result.data;
  const lines = problems.map((problem) => `  - ${problem}`);
  throw new ConfigError(
    `${source} is not a valid keyrot config:\n${lines.join('\n')}\nSee "Configuration reference" in the README.`,
  );
}

/** Reads and validates a config file (.yaml, .yml or .json). */
export async function loadConfigFile(
  path: string,
  registry: TargetRegistry = defaultRegistry,
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ConfigError(
      `Cannot read config file ${path}: ${reason}. Pass an existing file with --config.`,
      {
        cause: error,
      },
    );
  }
  let document: unknown;
  try {
    document = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${detail}`, {
      cause: error,
    });
  }
  return parseConfig(document, path, registry);
}

function describeIssue(issue: z.core.$ZodIssue, document: unknown): string {
  const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys
        .map((key) => {
          const where = issue.path.length > 0 ? `${issue.path.join('.')}.${key}` : key;
          const allowed = allowedKeys(issue.path);
          const hint = closest(key, allowed);
          return `${where}: unknown field${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`;
        })
        .join('\n  - ');
    case 'invalid_value':
      return `${field}: ${JSON.stringify(valueAt(document, issue.path))} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
    case 'too_big': {
      const bounds = numberBounds(issue.path);
      return `${field}: ${JSON.stringify(valueAt(document, issue.path))} is out of range; use ${bounds}`;
    }
    case 'invalid_type':
      return `${field}: expected ${article(issue.expected)}, got ${JSON.stringify(valueAt(document, issue.path))}`;
    default:
      return `${field}: ${issue.message} (got ${JSON.stringify(valueAt(document, issue.path))})`;
  }
}

function shapeAt(path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = configSchema;
  for (const key of path) {
    schema = unwrap(schema);
    if (!(schema instanceof z.ZodObject)) return undefined;
    schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
  }
  return schema === undefined ? undefined : unwrap(schema);
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function allowedKeys(path: readonly PropertyKey[]): string[] {
  const shape = shapeAt(path);
  return shape instanceof z.ZodObject ? Object.keys(shape.shape) : [];
}

function numberBounds(path: readonly PropertyKey[]): string {
  const shape = shapeAt(path);
  if (shape instanceof z.ZodNumber) return `a whole number from ${shape.minValue} to ${shape.maxValue}`;
  if (shape instanceof z.ZodString)
    return `a string of ${shape.minLength ?? 0} to ${shape.maxLength} characters`;
  return 'a value in range';
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The allowed name nearest to a typo, if it is near enough to be a likely meant. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const [w, n] = [word.toLowerCase(), name.toLowerCase()];
    const distance = n.startsWith(w) || w.startsWith(n) ? 0 : editDistance(w, n);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(word.length / 3))
    ? best.name
    : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
