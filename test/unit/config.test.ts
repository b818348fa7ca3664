import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { $ZodType } from 'zod/v4/core';
import { configSchema, defaultConfig, loadJsonConfigFile, parseConfig } from '../../lib/config.js';
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

  it('names the file in schema errors', async () => {
    const path = await write('typo.yaml', 'policy:\n  maxKeyAgeDays: 0\n');
    await expect(loadConfigFile(path)).rejects.toThrow(`${path} is not a valid keyrot config:`);
  });
});
