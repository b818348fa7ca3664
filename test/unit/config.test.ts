import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { $ZodType } from 'zod/v4/core';
import {
  type Config,
  configSchema,
  defaultConfig,
  loadJsonConfigFile,
  parseConfig,
  parseConfigText,
  readConfigText,
} from '../../lib/config.js';
import { loadConfigFile } from '../../lib/config-file.js';
import { ConfigError } from '../../lib/errors.js';

const write = async (name: string, text: string) => {
  const path = join(await mkdtemp(join(tmpdir(), 'keyrot-config-')), name);
  await writeFile(path, text);
  return path;
};

const problems = (document: unknown) => {
  try {
    parseConfig(document, 'keyrot.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('parseConfig', () => {
  it('fills every default', () => {
    expect(defaultConfig).toEqual({
      machinePath: '/machine/',
      allowRootPath: false,
      ownerTag: 'owner',
      secretPrefix: 'keyrot/',
      targetSecretPrefix: 'keyrot-tokens/',
      inventory: { strategy: 'report', concurrency: 8, reportTimeoutSeconds: 120 },
      policy: {
        maxKeyAgeDays: 90,
        unusedKeyDays: 45,
        deleteAfterDays: 7,
        deactivateAfterDays: 7,
        idleDaysBeforeDeactivate: 10,
        escalateAfterDays: 14,
      },
      rotation: {
        propagationTimeoutSeconds: 120,
        abandonAfterMinutes: 5,
        targetConcurrency: 8,
        stuckAfterHours: 6,
        maxStartsPerRun: 10,
        startConcurrency: 5,
      },
      alerts: { remindEveryDays: 7 },
      accounts: {
        include: [],
        exclude: [],
        memberRole: { path: '/keyrot/', name: 'keyrot-member' },
        concurrency: 4,
      },
      users: {},
    });
    expect(parseConfig(null, 'empty.yaml')).toEqual(defaultConfig);
  });

  it('reads the accounts selector by ids, OUs and tags, and names an entry that is none of them', () => {
    const accounts = {
      include: ['ou-ab12-abcdefgh', 'tag:team=payments'],
      exclude: ['123456789012', 'tag:keyrot=off'],
      externalId: 'keyrot-org-7f3a',
    };
    expect(parseConfig({ accounts }, 'k.yaml').accounts).toEqual({
      ...accounts,
      memberRole: { path: '/keyrot/', name: 'keyrot-member' },
      concurrency: 4,
    });
    expect(() => parseConfig({ accounts: { include: ['team=payments'] } }, 'k.yaml')).toThrow(
      'accounts.include.0: is not an account id (12 digits), an OU id (ou-xxxx-xxxxxxxx), the root id (r-xxxx) or an account tag (tag:KEY=VALUE or tag:KEY) (got "team=payments")',
    );
    expect(() => parseConfig({ accounts: { memberRole: { path: 'keyrot' } } }, 'k.yaml')).toThrow(
      'accounts.memberRole.path: must be an IAM path that starts and ends with "/"',
    );
  });

  it('reads Slack channels, naming a default channel that is not one of them', () => {
    const slack = {
      channels: { 'data-alerts': { webhookSecretId: 'keyrot-slack/data' } },
      defaultChannel: 'data-alerts',
    };
    expect(parseConfig({ alerts: { slack } }, 'k.yaml').alerts).toEqual({
      remindEveryDays: 7,
      slack: { ...slack, timeoutSeconds: 5 },
    });
    expect(() => parseConfig({ alerts: { slack: { ...slack, defaultChannel: 'ops' } } }, 'k.yaml')).toThrow(
      'alerts.slack.defaultChannel: "ops" is not one of alerts.slack.channels (data-alerts)',
    );
    expect(() =>
      parseConfig({ alerts: { slack: { channels: { ops: { webhookUrl: 'https://x' } } } } }, 'k.yaml'),
    ).toThrow('alerts.slack.channels.ops.webhookUrl: unknown field');
    expect(() => parseConfig({ alerts: { remindEveryDays: 0 } }, 'k.yaml')).toThrow(
      'alerts.remindEveryDays: 0 is out of range; use a whole number from 1 to 3650',
    );
  });

  it('keeps given values and defaults the rest', () => {
    const config = parseConfig({ machinePath: '/svc/ci/', policy: { maxKeyAgeDays: 30 } }, 'k.yaml');
    expect(config.machinePath).toBe('/svc/ci/');
    expect(config.policy).toMatchObject({ maxKeyAgeDays: 30, unusedKeyDays: 45, deleteAfterDays: 7 });
  });

  it.each([
    [
      { policy: { maxKeyAge: 30 } },
      'policy.maxKeyAge: unknown field (did you mean "maxKeyAgeDays"?); allowed: maxKeyAgeDays, unusedKeyDays, deleteAfterDays, deactivateAfterDays, idleDaysBeforeDeactivate, escalateAfterDays',
    ],
    [{ polcy: {} }, 'polcy: unknown field (did you mean "policy"?)'],
    [
      { zzz: 1 },
      'zzz: unknown field; allowed: machinePath, allowRootPath, ownerTag, secretPrefix, secretKmsKeyId, targetSecretPrefix, inventory, policy, rotation, alerts, accounts, users',
    ],
    [{ policy: { maxKeyAgeDays: 'ninety' } }, 'policy.maxKeyAgeDays: expected a number, got "ninety"'],
    [{ policy: { maxKeyAgeDays: 1.5 } }, 'policy.maxKeyAgeDays: expected a whole number, got 1.5'],
    [
      { policy: { unusedKeyDays: 0 } },
      'policy.unusedKeyDays: 0 is out of range; use a whole number from 1 to 3650',
    ],
    [
      { inventory: { concurrency: 99 } },
      'inventory.concurrency: 99 is out of range; use a whole number from 1 to 32',
    ],
    [{ ownerTag: '' }, 'ownerTag: "" is out of range; use a string of 1 to 128 characters'],
    [
      { alerts: { slack: { channels: {}, defaultChannel: '' } } },
      'alerts.slack.defaultChannel: "" is out of range; use a string of at least 1 character',
    ],
    [
      { policy: { maxKeyAgeDays: 1001 } },
      "policy.maxKeyAgeDays: 1001 is out of range; use a whole number from 1 to 1000 (it becomes the secret's rotation schedule, and Secrets Manager accepts AutomaticallyAfterDays from 1 to 1000)",
    ],
    [
      { rotation: { propagationTimeoutSeconds: 181 } },
      'rotation.propagationTimeoutSeconds: 181 is out of range; use a whole number from 10 to 180 (testSecret waits this long inside one run of the rotate function, whose timeout is 240 s; 180 s leaves a minute for its other calls)',
    ],
    [
      { machinePath: 'machine' },
      'machinePath: must be an IAM path that starts and ends with "/", e.g. "/machine/" (got "machine")',
    ],
    [
      { inventory: { strategy: 'fast' } },
      'inventory.strategy: "fast" is not allowed; use one of "report", "exact"',
    ],
    [[1, 2], '(top level): expected an object, got [1,2]'],
    [{ users: { 'ci deploy': {} } }, 'users: "ci deploy" is not an IAM user name'],
    [
      { alerts: { slack: { channels: { '#ops': { webhookSecretId: 'keyrot-slack/ops' } } } } },
      'alerts.slack.channels: "#ops" is not a channel name (letters, digits, ._-)',
    ],
  ])('rejects %j naming the field and what is allowed', (document, expected) => {
    const message = problems(document);
    expect(message).toContain('keyrot.yaml is not a valid keyrot config:');
    expect(message).toContain(`  - ${expected}`);
  });

  it('lists every problem at once', () => {
    const message = problems({ policy: { maxKeyAgeDays: 0, unusedKeyDays: 'x' }, machinePath: 'no' });
    expect(message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(3);
  });
});

/** The problem lines of a refused document (each "  - field: reason"). */
const problemLines = (document: unknown) =>
  problems(document)
    .split('\n')
    .filter((line) => line.startsWith('  - '));

interface Pattern {
  field: string;
  /** A document with `value` in the field (as its value, or as a record's key). */
  document: (value: string) => unknown;
  /** Where the parsed config keeps that value. */
  kept: (config: Config) => string | undefined;
  /** The one problem line a refused value gives. */
  refusal: (value: string) => string;
  /** [why, value]: just inside the pattern, and just outside it. */
  accepted: [string, string][];
  refused: [string, string][];
}

const iamPathRefusals: [string, string][] = [
  ['no leading "/"', 'machine/'],
  ['no trailing "/"', '/machine'],
  ['a name before the leading "/"', 'svc/machine/'],
  ['a name after the trailing "/"', '/machine/ci'],
  ['an empty segment', '/machine//'],
  ['a space in a segment', '/machine ci/'],
  ['an empty string', ''],
];
const secretPrefixAccepted: [string, string][] = [
  ['one character', 'k'],
  ['every allowed character', 'team-A/keyrot_9+x=y.z@w/'],
];
const secretPrefixRefused: [string, string][] = [
  ['an empty string', ''],
  ['a space', 'keyrot prod/'],
  ['a comma', 'keyrot,prod/'],
  ['junk before', '*keyrot/'],
  ['junk after', 'keyrot/*'],
];
const slackChannel = { webhookSecretId: 'keyrot-slack/ops' };

const PATTERNS: Pattern[] = [
  {
    field: 'machinePath',
    document: (value) => ({ machinePath: value }),
    kept: (config) => config.machinePath,
    refusal: (value) =>
      `machinePath: must be an IAM path that starts and ends with "/", e.g. "/machine/" (got ${JSON.stringify(value)})`,
    accepted: [
      ['one segment', '/machine/'],
      ['nested segments', '/svc/ci/deploy/'],
      ['every IAM path character', '/a_Z9+=,.@-/'],
    ],
    refused: iamPathRefusals,
  },
  {
    field: 'accounts.memberRole.path',
    document: (value) => ({ accounts: { memberRole: { path: value } } }),
    kept: (config) => config.accounts.memberRole.path,
    refusal: (value) =>
      `accounts.memberRole.path: must be an IAM path that starts and ends with "/" (got ${JSON.stringify(value)})`,
    accepted: [
      ['the root path', '/'],
      ['the default, given', '/keyrot/'],
      ['nested segments', '/org/keyrot/'],
    ],
    refused: iamPathRefusals,
  },
  {
    field: 'accounts.memberRole.name',
    document: (value) => ({ accounts: { memberRole: { name: value } } }),
    kept: (config) => config.accounts.memberRole.name,
    refusal: (value) => `accounts.memberRole.name: is not an IAM role name (got ${JSON.stringify(value)})`,
    accepted: [
      ['the default, given', 'keyrot-member'],
      ['one character', 'k'],
      ['64 characters', 'r'.repeat(64)],
      ['every IAM name character', 'Role_9+=,.@-'],
    ],
    refused: [
      ['an empty string', ''],
      ['65 characters', 'r'.repeat(65)],
      ['a space', 'keyrot member'],
      ['a "/"', 'org/keyrot-member'],
      ['junk before', '!keyrot-member'],
      ['junk after', 'keyrot-member!'],
    ],
  },
  {
    field: 'accounts.externalId',
    document: (value) => ({ accounts: { externalId: value } }),
    kept: (config) => config.accounts.externalId,
    refusal: (value) => `accounts.externalId: is not a valid sts:ExternalId (got ${JSON.stringify(value)})`,
    accepted: [
      ['2 characters', 'k1'],
      ['1224 characters', 'x'.repeat(1224)],
      ['every allowed character', 'org:7f3a/x=y+z,w.v@u_-'],
    ],
    refused: [
      ['1 character', 'k'],
      ['1225 characters', 'x'.repeat(1225)],
      ['a space', 'keyrot org'],
      ['junk before', '!keyrot-org'],
      ['junk after', 'keyrot-org!'],
    ],
  },
  {
    field: 'secretPrefix',
    document: (value) => ({ secretPrefix: value }),
    kept: (config) => config.secretPrefix,
    refusal: (value) =>
      `secretPrefix: may hold only letters, digits and /_+=.@- (got ${JSON.stringify(value)})`,
    accepted: [['the default, given', 'keyrot/'], ...secretPrefixAccepted],
    refused: secretPrefixRefused,
  },
  {
    field: 'targetSecretPrefix',
    document: (value) => ({ targetSecretPrefix: value }),
    kept: (config) => config.targetSecretPrefix,
    refusal: (value) =>
      `targetSecretPrefix: may hold only letters, digits and /_+=.@- (got ${JSON.stringify(value)})`,
    accepted: [['the default, given', 'keyrot-tokens/'], ...secretPrefixAccepted],
    refused: secretPrefixRefused,
  },
  {
    field: 'users (a user name)',
    document: (value) => ({ users: { [value]: {} } }),
    kept: (config) => Object.keys(config.users).join(),
    refusal: (value) => `users: ${JSON.stringify(value)} is not an IAM user name`,
    accepted: [
      ['one character', 'c'],
      ['64 characters', 'u'.repeat(64)],
      ['every IAM name character', 'svc_A9+=,.@-'],
    ],
    refused: [
      ['an empty string', ''],
      ['65 characters', 'u'.repeat(65)],
      ['a space', 'ci deploy'],
      ['a "/"', 'ci/deploy'],
      ['junk before', '#ci-deploy'],
      ['junk after', 'ci-deploy!'],
    ],
  },
  {
    field: 'alerts.slack.channels (a channel name)',
    document: (value) => ({ alerts: { slack: { channels: { [value]: slackChannel } } } }),
    kept: (config) => Object.keys(config.alerts.slack?.channels ?? {}).join(),
    refusal: (value) =>
      `alerts.slack.channels: ${JSON.stringify(value)} is not a channel name (letters, digits, ._-)`,
    accepted: [
      ['one character', 'o'],
      ['80 characters', 'c'.repeat(80)],
      ['letters, digits and ._-', 'data.Alerts-2_x'],
    ],
    refused: [
      ['an empty string', ''],
      ['81 characters', 'c'.repeat(81)],
      ['a space', 'ops alerts'],
      ['junk before', '#ops'],
      ['junk after', 'ops!'],
    ],
  },
];

describe.each(PATTERNS)('the pattern of $field', ({ document, kept, refusal, accepted, refused }) => {
  it.each(accepted)('keeps %s', (_why, value) => {
    expect(kept(parseConfig(document(value), 'k.yaml'))).toBe(value);
  });

  it.each(refused)('refuses %s, naming the field', (_why, value) => {
    expect(problemLines(document(value))).toEqual([`  - ${refusal(value)}`]);
  });
});

/** Every whole-number setting: [field, least, most]. The defaults are pinned by "fills every default". */
const WHOLE_NUMBERS: [string, number, number][] = [
  ['policy.maxKeyAgeDays', 1, 1000],
  ['policy.unusedKeyDays', 1, 3650],
  ['policy.deleteAfterDays', 1, 3650],
  ['policy.deactivateAfterDays', 1, 3650],
  ['policy.idleDaysBeforeDeactivate', 1, 3650],
  ['policy.escalateAfterDays', 1, 3650],
  ['inventory.concurrency', 1, 32],
  ['inventory.reportTimeoutSeconds', 5, 900],
  ['rotation.propagationTimeoutSeconds', 10, 180],
  ['rotation.abandonAfterMinutes', 1, 1440],
  ['rotation.targetConcurrency', 1, 32],
  ['rotation.stuckAfterHours', 1, 720],
  ['rotation.maxStartsPerRun', 1, 100],
  ['rotation.startConcurrency', 1, 32],
  ['alerts.remindEveryDays', 1, 3650],
  ['alerts.slack.timeoutSeconds', 1, 30],
  ['accounts.concurrency', 1, 32],
];

/** A document with `value` at `field` (a Slack section needs its channels). */
const withNumber = (field: string, value: number): unknown =>
  field.startsWith('alerts.slack.')
    ? { alerts: { slack: { channels: {}, [field.split('.')[2] ?? '']: value } } }
    : nest(field.split('.'), value);

const numberAt = (config: Config, field: string): unknown =>
  field.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], config);

describe.each(WHOLE_NUMBERS)('%s, from %i to %i', (field, least, most) => {
  it('keeps both ends of its range', () => {
    expect(numberAt(parseConfig(withNumber(field, least), 'k.yaml'), field)).toBe(least);
    expect(numberAt(parseConfig(withNumber(field, most), 'k.yaml'), field)).toBe(most);
  });

  it.each([least - 1, most + 1])('refuses %i, naming the field and the range', (value) => {
    const lines = problemLines(withNumber(field, value));
    expect(lines).toHaveLength(1);
    // Two fields add why their range is what it is, in parentheses (pinned above).
    expect(lines[0]?.replace(/ \(.*\)$/, '')).toBe(
      `  - ${field}: ${value} is out of range; use a whole number from ${least} to ${most}`,
    );
  });
});

describe('machinePath "/"', () => {
  it('is refused unless allowRootPath says so on purpose', () => {
    expect(problemLines({ machinePath: '/' })).toEqual([
      '  - machinePath: "/" makes every IAM user, people included, a machine user whose keys keyrot rotates and deletes; use a dedicated path such as "/machine/", or set allowRootPath: true if that is really meant',
    ]);
    expect(problemLines({ machinePath: '/', allowRootPath: false })).toHaveLength(1);
  });

  it('is kept with allowRootPath: true', () => {
    const config = parseConfig({ machinePath: '/', allowRootPath: true }, 'k.yaml');
    expect([config.machinePath, config.allowRootPath]).toEqual(['/', true]);
  });

  it('allowRootPath: true changes nothing for another path', () => {
    const config = parseConfig({ machinePath: '/svc/', allowRootPath: true }, 'k.yaml');
    expect([config.machinePath, config.allowRootPath]).toEqual(['/svc/', true]);
  });
});

describe('users', () => {
  it('a user without targets gets none', () => {
    expect(parseConfig({ users: { 'ci-deploy': {} } }, 'k.yaml').users).toEqual({
      'ci-deploy': { targets: [] },
    });
  });
});

describe('alerts.slack.defaultChannel', () => {
  it('names every channel there is, or none, when it is not one of them', () => {
    const channels = { 'data-alerts': slackChannel, ops: slackChannel };
    expect(problemLines({ alerts: { slack: { channels, defaultChannel: 'sec' } } })).toEqual([
      '  - alerts.slack.defaultChannel: "sec" is not one of alerts.slack.channels (data-alerts, ops)',
    ]);
    expect(problemLines({ alerts: { slack: { channels: {}, defaultChannel: 'sec' } } })).toEqual([
      '  - alerts.slack.defaultChannel: "sec" is not one of alerts.slack.channels (none)',
    ]);
  });
});

/**
 * Every object in the config schema, found by walking zod's definitions (defaults unwrapped, a
 * record's values under a sample key). A nesting level added later is covered without a new row.
 */
function objectPaths(schema: $ZodType, path: string[] = []): string[][] {
  const def = schema._zod.def as {
    type: string;
    innerType?: $ZodType;
    valueType?: $ZodType;
    shape?: Record<string, $ZodType>;
  };
  if (['default', 'prefault', 'optional'].includes(def.type) && def.innerType)
    return objectPaths(def.innerType, path);
  if (def.type === 'record' && def.valueType) return objectPaths(def.valueType, [...path, 'ci-deploy']);
  if (def.type === 'object' && def.shape)
    return [path, ...Object.entries(def.shape).flatMap(([key, inner]) => objectPaths(inner, [...path, key]))];
  return [];
}

const nest = (path: string[], leaf: unknown): unknown =>
  path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), leaf);

describe('unknown fields are refused at every nesting level', () => {
  const levels = objectPaths(configSchema);

  it('finds every level of the schema', () => {
    expect(levels.map((path) => path.join('.'))).toEqual([
      '',
      'inventory',
      'policy',
      'rotation',
      'alerts',
      'alerts.slack',
      'alerts.slack.channels.ci-deploy',
      'accounts',
      'accounts.memberRole',
      'users.ci-deploy',
    ]);
  });

  it.each(levels.map((path) => [path.join('.') || '(top level)', path]))(
    '%s refuses an unknown field, naming it',
    (_name, path) => {
      const field = [...path, 'notAField'].join('.');
      expect(problems(nest(path, { notAField: 1 }))).toContain(`  - ${field}: unknown field; allowed: `);
    },
  );

  it.each([
    ['rotation', 'abandonAfterMinute', 'abandonAfterMinutes'],
    ['rotation', 'propagationTimeout', 'propagationTimeoutSeconds'],
    ['inventory', 'strategyy', 'strategy'],
    ['inventory', 'reportTimeout', 'reportTimeoutSeconds'],
    ['policy', 'deactivateAfterDay', 'deactivateAfterDays'],
    ['users.ci-deploy', 'target', 'targets'],
  ])('%s.%s is an error that suggests %s', (at, typo, meant) => {
    const message = problems(nest(at.split('.'), { [typo]: 1 }));
    expect(message).toContain(`  - ${at}.${typo}: unknown field (did you mean "${meant}"?); allowed: `);
  });

  it('a target refuses an option its type does not know', () => {
    const target = {
      type: 'webhook',
      name: 'hook',
      url: 'https://example.test',
      signingSecretId: 'keyrot-tokens/hook',
      urll: 'typo',
    };
    expect(() => parseConfig({ users: { 'ci-deploy': { targets: [target] } } }, 'k.yaml')).toThrow(
      /users\.ci-deploy\.targets\[0\]\.urll: unknown option/,
    );
  });
});

describe('loadConfigFile', () => {
  it('reads YAML and JSON files', async () => {
    const yaml = await write('k.yaml', 'policy:\n  maxKeyAgeDays: 60\n');
    const json = await write('k.json', '{"inventory": {"strategy": "exact"}}');
    expect((await loadConfigFile(yaml)).policy.maxKeyAgeDays).toBe(60);
    expect((await loadConfigFile(json)).inventory.strategy).toBe('exact');
  });

  it('names a missing file', async () => {
    await expect(loadConfigFile('/nonexistent/keyrot.yaml')).rejects.toThrow(
      'Cannot read config file /nonexistent/keyrot.yaml: no such file. Pass an existing file with --config.',
    );
  });

  it('names the file and the syntax error', async () => {
    const yaml = await write('bad.yaml', 'policy: [unclosed\n');
    const json = await write('bad.json', '{"policy": ');
    await expect(loadConfigFile(yaml)).rejects.toThrow(new RegExp(`^${yaml} is not valid YAML: `));
    await expect(loadConfigFile(json)).rejects.toThrow(new RegExp(`^${json} is not valid JSON: `));
  });

  it('loadJsonConfigFile (the Lambda functions) reads JSON only', async () => {
    const json = await write('lambda.json', '{"policy": {"deleteAfterDays": 3}}');
    const yaml = await write('lambda.yaml', 'policy:\n  deleteAfterDays: 3\n');
    expect((await loadJsonConfigFile(json)).policy.deleteAfterDays).toBe(3);
    await expect(loadJsonConfigFile(yaml)).rejects.toThrow(new RegExp(`^${yaml} is not valid JSON: `));
  });

  it('names a missing file from the environment, pointing at the variable, with the cause', async () => {
    const error = await readConfigText('/nonexistent/keyrot.yaml', 'KEYROT_CONFIG').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'Cannot read config file /nonexistent/keyrot.yaml (from KEYROT_CONFIG): no such file. Point KEYROT_CONFIG at an existing file, or unset it.',
    );
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('loadJsonConfigFile names a missing file as --config does', async () => {
    await expect(loadJsonConfigFile('/nonexistent/keyrot.json')).rejects.toThrow(
      new ConfigError(
        'Cannot read config file /nonexistent/keyrot.json: no such file. Pass an existing file with --config.',
      ),
    );
  });

  it('gives the system error of a file that exists but cannot be read', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'keyrot-config-'));
    const error = await readConfigText(directory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Cannot read config file ${directory}: Error: EISDIR: .*\\. Pass an existing file with --config\\.$`,
      ),
    );
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });

  it('parseConfigText gives the first line of a parser error, and keeps the error as the cause', () => {
    const thrown = new Error('bad indentation at line 2\n  policy: [\n          ^');
    const error = (() => {
      try {
        return parseConfigText('text', 'k.yaml', 'YAML', () => {
          throw thrown;
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('k.yaml is not valid YAML: bad indentation at line 2');
    expect((error as Error).cause).toBe(thrown);
  });

  it('parseConfigText gives a thrown non-error as text, and returns what the parser returns', () => {
    expect(() =>
      parseConfigText('text', 'k.json', 'JSON', () => {
        throw 'not an Error';
      }),
    ).toThrow(new ConfigError('k.json is not valid JSON: not an Error'));
    expect(parseConfigText('{"a":1}', 'k.json', 'JSON', JSON.parse)).toEqual({ a: 1 });
  });

  it('names the file in schema errors', async () => {
    const path = await write('typo.yaml', 'policy:\n  maxKeyAgeDays: 0\n');
    await expect(loadConfigFile(path)).rejects.toThrow(`${path} is not a valid keyrot config:`);
  });
});
