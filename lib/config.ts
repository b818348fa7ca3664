import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import type { $ZodIssue, $ZodType } from 'zod/v4/core';
import { SELECTOR_ENTRY, SELECTOR_ENTRY_HELP } from './accounts/selector.js';
import { ConfigError } from './errors.js';
import { defaultRegistry, type TargetRegistry, targetSpecSchema } from './targets/registry.js';

// zod/mini: the same validation as classic zod at a twentieth of the bundle size (21 KB, not 454 KB).

/** IAM path syntax: starts and ends with '/', segments of IAM path characters. */
const IAM_PATH = /^\/(?:[\w+=,.@-]+\/)*$/;

const wholeNumber = (min: number, max: number, fallback: number) =>
  z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);
const days = (fallback: number) => wholeNumber(1, 3650, fallback);

/**
 * The rotate function's timeout in serverless.yml (a template test keeps them equal). testSecret
 * waits for IAM inside one invocation, so the wait must leave room for its other calls: reading the
 * secret, one last STS call (up to 30 s, the request timeout) and each target's verify().
 */
export const ROTATE_FUNCTION_TIMEOUT_SECONDS = 240;
/** The longest testSecret may wait for a new key: the function's timeout less a minute of room. */
export const MAX_PROPAGATION_TIMEOUT_SECONDS = ROTATE_FUNCTION_TIMEOUT_SECONDS - 60;

/** Why a field's range is what it is, for errors: the range comes from AWS, not from taste. */
const RANGE_REASON: Record<string, string> = {
  // Secrets Manager API reference, RotationRulesType: AutomaticallyAfterDays is 1 to 1000.
  'policy.maxKeyAgeDays':
    "it becomes the secret's rotation schedule, and Secrets Manager accepts AutomaticallyAfterDays from 1 to 1000",
  'rotation.propagationTimeoutSeconds': `testSecret waits this long inside one run of the rotate function, whose timeout is ${ROTATE_FUNCTION_TIMEOUT_SECONDS} s; ${MAX_PROPAGATION_TIMEOUT_SECONDS} s leaves a minute for its other calls`,
};

const policySchema = z.strictObject({
  /**
   * An active key older than this many days is rotated. It is also the secret's rotation schedule
   * (RotationRules.AutomaticallyAfterDays), which Secrets Manager accepts from 1 to 1000 days (Secrets
   * Manager API reference, RotationRulesType). moto accepts any number.
   */
  maxKeyAgeDays: wholeNumber(1, 1000, 90),
  /** An active key not used for this many days (or never used) is reported. */
  unusedKeyDays: days(45),
  /** An inactive key that has been quiet for this many days is deleted. */
  deleteAfterDays: days(7),
  /** A replaced key (AWSPREVIOUS, or from before keyrot) is deactivated this many days after the cut-over... */
  deactivateAfterDays: days(7),
  /**
   * ...and only once it has not been used for this many days. 10, not less: a consumer that runs
   * weekly must not look idle. IAM records a key's last use at most once per 15 minutes, and only
   * after a delay (IAM User Guide, "Getting credential reports for your AWS account", columns
   * access_key_N_last_used_date), so a short window can miss the one use a week a job makes.
   */
  idleDaysBeforeDeactivate: days(10),
  /** A replaced key still in use this many days after the cut-over is escalated to its owner. */
  escalateAfterDays: days(14),
});

const inventorySchema = z.strictObject({
  /**
   * `report`: the IAM credential report plus GetAccountAuthorizationDetails, a constant number of calls
   * per account. `exact`: per-user ListAccessKeys and GetAccessKeyLastUsed; current to the second.
   */
  strategy: z._default(z.enum(['report', 'exact']), 'report'),
  /** How many per-user IAM calls may be in flight at once. */
  concurrency: wholeNumber(1, 32, 8),
  /** How long to wait for IAM to generate the credential report before giving up. */
  reportTimeoutSeconds: wholeNumber(5, 900, 120),
});

const rotationSchema = z.strictObject({
  /** How long testSecret waits for IAM to accept a new key (IAM is eventually consistent). */
  propagationTimeoutSeconds: wholeNumber(10, MAX_PROPAGATION_TIMEOUT_SECONDS, 120),
  /**
   * A key created by a rotation attempt that never stored it is deleted once the attempt is this old:
   * long enough that a slow but live attempt is never mistaken for a crashed one. No attempt outlives
   * one run of the rotate function (ROTATE_FUNCTION_TIMEOUT_SECONDS, 240 s), so 5 minutes is that
   * plus a margin.
   */
  abandonAfterMinutes: wholeNumber(1, 1440, 5),
  /** How many targets setSecret pushes to at once (and testSecret verifies). */
  targetConcurrency: wholeNumber(1, 32, 8),
  /**
   * A rotation whose AWSPENDING version has not become current this many hours after it was made is
   * stuck: Secrets Manager refuses every later RotateSecret ("A previous rotation isn't complete")
   * until it finishes or is restarted. Reported by the scan (critical) and by `keyrot status`.
   */
  stuckAfterHours: wholeNumber(1, 720, 6),
  /**
   * The scan starts at most this many rotations per run, most overdue first; the rest are queued
   * for later runs. Secrets Manager invokes the rotate function for each, and testSecret may wait
   * minutes for IAM: onboarding a whole account at once would be a burst of them.
   */
  maxStartsPerRun: wholeNumber(1, 100, 10),
  /** How many rotation starts (DescribeSecret, CreateSecret, RotateSecret) the scan runs at once. */
  startConcurrency: wholeNumber(1, 32, 5),
});

/** A Slack channel keyrot posts to: its incoming webhook's URL is a secret, never in this file. */
const slackChannelSchema = z.strictObject({
  /** The Secrets Manager secret (name or ARN) whose value is the channel's incoming-webhook URL. */
  webhookSecretId: z.string().check(z.minLength(1), z.maxLength(2048)),
});

const alertsSchema = z.strictObject({
  /** The same alert about the same thing is sent again only after this many days (or when it worsens). */
  remindEveryDays: days(7),
  slack: z.optional(
    z.strictObject({
      /** Channels by the name a user's `slack-channel` tag uses. */
      channels: z.record(
        z
          .string()
          .check(z.regex(/^[\w.-]{1,80}$/, { error: 'is not a channel name (letters, digits, ._-)' })),
        slackChannelSchema,
      ),
      /** The channel for users without a `slack-channel` tag (or with one naming no channel here). */
      defaultChannel: z.optional(z.string().check(z.minLength(1))),
      /** How long one webhook request may take. */
      timeoutSeconds: wholeNumber(1, 30, 5),
    }),
  ),
});

const selectorEntry = z.string().check(z.regex(SELECTOR_ENTRY, { error: SELECTOR_ENTRY_HELP }));

/** Organization mode: which accounts the hub works in, and the member role it assumes there. */
const accountsSchema = z.strictObject({
  /** Account ids, OU ids (`ou-...`, nested OUs included), the root (`r-...`) or tags (`tag:KEY=VALUE`). Empty: all. */
  include: z._default(z.array(selectorEntry), []),
  /** The same kinds of entry; an exclusion wins over an inclusion. */
  exclude: z._default(z.array(selectorEntry), []),
  /** The role the member stack creates in each account, named by path so the hub may assume nothing else. */
  memberRole: z.prefault(
    z.strictObject({
      path: z._default(
        z.string().check(z.regex(IAM_PATH, { error: 'must be an IAM path that starts and ends with "/"' })),
        '/keyrot/',
      ),
      name: z._default(
        z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, { error: 'is not an IAM role name' })),
        'keyrot-member',
      ),
    }),
    {},
  ),
  /** The sts:ExternalId the member role's trust policy requires (2-1224 characters). Needed in organization mode. */
  externalId: z.optional(
    z.string().check(z.regex(/^[\w+=,.@:/-]{2,1224}$/, { error: 'is not a valid sts:ExternalId' })),
  ),
  /** How many accounts `keyrot plan --org` and `keyrot status --org` read at once. */
  concurrency: wholeNumber(1, 32, 4),
});

const userSchema = z.strictObject({
  /** Where the user's new key is pushed on rotation (see "Writing an adapter"). */
  targets: z._default(z.array(targetSpecSchema), []),
});

export const configSchema = z.strictObject({
  /** Machine users are the IAM users under this path (nested paths included). */
  machinePath: z._default(
    z
      .string()
      .check(
        z.regex(IAM_PATH, { error: 'must be an IAM path that starts and ends with "/", e.g. "/machine/"' }),
      ),
    '/machine/',
  ),
  /**
   * A machinePath of "/" makes every IAM user, people included, a machine user whose keys keyrot
   * rotates and retires. Refused unless this says so on purpose.
   */
  allowRootPath: z._default(z.boolean(), false),
  /** The user tag naming a machine user's owner. */
  ownerTag: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'owner'),
  /** Machine users' secrets are named `<secretPrefix><user name>`. */
  secretPrefix: z._default(
    z.string().check(z.regex(/^[\w/+=.@-]+$/, { error: 'may hold only letters, digits and /_+=.@-' })),
    'keyrot/',
  ),
  /**
   * A customer-managed KMS key (id, ARN or alias) that encrypts machine users' secrets. Unset, Secrets
   * Manager uses its AWS-managed key. Deployed, set serverless.yml's SecretKmsKeyArn to the same key.
   */
  secretKmsKeyId: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  /**
   * Targets' tokens (and webhook signing secrets) are secrets under this prefix; the rotate role may
   * read these and no other secret besides machine users' own.
   */
  targetSecretPrefix: z._default(
    z.string().check(z.regex(/^[\w/+=.@-]+$/, { error: 'may hold only letters, digits and /_+=.@-' })),
    'keyrot-tokens/',
  ),
  inventory: z.prefault(inventorySchema, {}),
  policy: z.prefault(policySchema, {}),
  rotation: z.prefault(rotationSchema, {}),
  alerts: z.prefault(alertsSchema, {}),
  accounts: z.prefault(accountsSchema, {}),
  /** Per machine user settings, by IAM user name. */
  users: z._default(
    z.record(
      z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, { error: 'is not an IAM user name' })),
      userSchema,
    ),
    {},
  ),
});

export type Config = z.output<typeof configSchema>;
export type PolicySettings = Config['policy'];

/** The configuration used when no file is given. */
export const defaultConfig: Config = z.parse(configSchema, {});

/** Validates a parsed config document; `source` names it in errors (a file path or "KEYROT_CONFIG"). */
export function parseConfig(
  document: unknown,
  source: string,
  registry: TargetRegistry = defaultRegistry,
): Config {
  const result = z.safeParse(configSchema, document ?? {});
  const problems = result.success
    ? [
        ...(result.data.machinePath === '/' && !result.data.allowRootPath
          ? [
              'machinePath: "/" makes every IAM user, people included, a machine user whose keys keyrot rotates and deletes; use a dedicated path such as "/machine/", or set allowRootPath: true if that is really meant',
            ]
          : []),
        ...Object.entries(result.data.users).flatMap(([user, settings]) =>
          registry.check(settings.targets, `users.${user}.targets`, result.data.targetSecretPrefix),
        ),
      ]
    : result.error.issues.map((issue) => describeIssue(issue, document));
  const slack = result.success ? result.data.alerts.slack : undefined;
  if (slack?.defaultChannel !== undefined && slack.channels[slack.defaultChannel] === undefined) {
    problems.push(
      `alerts.slack.defaultChannel: ${JSON.stringify(slack.defaultChannel)} is not one of alerts.slack.channels (${Object.keys(slack.channels).join(', ') || 'none'})`,
    );
  }
  if (result.success && problems.length === 0) return result.data;
  const lines = problems.map((problem) => `  - ${problem}`);
  throw new ConfigError(
    `${source} is not a valid keyrot config:\n${lines.join('\n')}\nSee "Configuration reference" in the README.`,
  );
}

/** A config file's text; a file that can't be read is a ConfigError naming it. */
export async function readConfigText(path: string, via = '--config'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ConfigError(
      `Cannot read config file ${path}${via === '--config' ? '' : ` (from ${via})`}: ${reason}. ${via === '--config' ? 'Pass an existing file with --config.' : `Point ${via} at an existing file, or unset it.`}`,
      {
        cause: error,
      },
    );
  }
}

/** Parses config text with `parse` (JSON or YAML, as `format` names it); a syntax error names the file. */
export function parseConfigText(
  text: string,
  path: string,
  format: 'JSON' | 'YAML',
  parse: (text: string) => unknown,
): unknown {
  try {
    return parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`${path} is not valid ${format}: ${detail}`, { cause: error });
  }
}

/**
 * Reads and validates a JSON config file. The Lambda functions use this: they read the JSON that
 * `osls package` writes from the YAML config, so no YAML parser ships in their bundles.
 */
export async function loadJsonConfigFile(
  path: string,
  registry: TargetRegistry = defaultRegistry,
): Promise<Config> {
  return parseConfig(parseConfigText(await readConfigText(path), path, 'JSON', JSON.parse), path, registry);
}

// Stryker disable all: below is the wording of config errors (which field, what is allowed, a
// suggestion), not what the schema accepts; config.test pins the wording of each kind of problem.
function describeIssue(issue: $ZodIssue, document: unknown): string {
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
    case 'too_big':
      return `${field}: ${JSON.stringify(valueAt(document, issue.path))} is out of range; use ${bounds(issue.path)}${RANGE_REASON[field] ? ` (${RANGE_REASON[field]})` : ''}`;
    case 'invalid_type':
      return `${field}: expected ${article(issue.expected)}, got ${JSON.stringify(valueAt(document, issue.path))}`;
    case 'invalid_key': {
      // A record's key (a user or channel name) is refused: name the key, with its own schema's reason.
      const record = issue.path.slice(0, -1).join('.') || '(top level)';
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return `${record}: ${JSON.stringify(issue.path.at(-1))} ${reasons}`;
    }
    default:
      return `${field}: ${issue.message} (got ${JSON.stringify(valueAt(document, issue.path))})`;
  }
}

/** The schema at a path, with defaults unwrapped (read through zod's definitions; a record's key is any name). */
function shapeAt(path: readonly PropertyKey[]): $ZodType | undefined {
  let schema: $ZodType | undefined = configSchema;
  for (const key of path) {
    schema = unwrap(schema);
    const def = schema?._zod.def as
      | { type: string; shape?: Record<string, $ZodType>; valueType?: $ZodType }
      | undefined;
    if (def?.type === 'record') schema = def.valueType;
    else if (def?.type === 'object' && def.shape !== undefined) schema = def.shape[String(key)];
    else return undefined;
  }
  return unwrap(schema);
}

function unwrap(schema: $ZodType | undefined): $ZodType | undefined {
  let current = schema;
  for (;;) {
    const def = current?._zod.def as { type: string; innerType?: $ZodType } | undefined;
    if (def === undefined || !['default', 'prefault', 'optional'].includes(def.type) || !def.innerType)
      return current;
    current = def.innerType;
  }
}

function allowedKeys(path: readonly PropertyKey[]): string[] {
  const def = shapeAt(path)?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/**
 * "a whole number from 1 to 3650", "a string of 1 to 128 characters" or "a string of at least 1
 * character", from the schema's checks.
 */
function bounds(path: readonly PropertyKey[]): string {
  const def = shapeAt(path)?._zod.def as
    | { type: string; checks?: Array<{ _zod: { def: Record<string, unknown> } }> }
    | undefined;
  const checks = (def?.checks ?? []).map((c) => c._zod.def);
  const find = (check: string, field: string) => checks.find((c) => c.check === check)?.[field];
  if (def?.type === 'number')
    return `a whole number from ${find('greater_than', 'value')} to ${find('less_than', 'value')}`;
  if (def?.type === 'string') {
    const [min, max] = [find('min_length', 'minimum') ?? 0, find('max_length', 'maximum')];
    return max === undefined
      ? `a string of at least ${min} character${min === 1 ? '' : 's'}`
      : `a string of ${min} to ${max} characters`;
  }
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
