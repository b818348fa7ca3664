import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { parseConfig } from '../../../lib/config.js';
import type { TargetType } from '../../../lib/targets/catalog.js';
import { createRegistry, defaultRegistry } from '../../../lib/targets/registry.js';

const hook: TargetType<{ url: string; secretName: string }> = {
  type: 'hook',
  options: z.strictObject({ url: z.string().check(z.regex(/^https:\/\//)), secretName: z.string() }),
  secretOptions: ['secretName'],
};
const registry = createRegistry([hook as TargetType]);
const config = (targets: unknown[], extra: object = {}) => ({
  ...extra,
  users: { 'ci-deploy': { targets } },
});
const problems = (targets: unknown[], reg = registry, extra: object = {}) => {
  try {
    parseConfig(config(targets, extra), 'keyrot.yaml', reg);
    return [];
  } catch (error) {
    return (error as Error).message.split('\n').filter((l) => l.startsWith('  - '));
  }
};

describe('the target registry', () => {
  it('accepts a valid target and parses its options', () => {
    const parsed = parseConfig(
      config([
        { type: 'hook', name: 'hook', url: 'https://example.test/k', secretName: 'keyrot-tokens/hook' },
      ]),
      'k.yaml',
      registry,
    );
    const [spec] = parsed.users['ci-deploy']?.targets ?? [];
    expect(spec).toEqual({
      type: 'hook',
      name: 'hook',
      options: { url: 'https://example.test/k', secretName: 'keyrot-tokens/hook' },
    });
    expect(registry.options(spec ?? { type: '', name: '', options: {} })).toEqual(spec?.options);
  });

  it('rejects at load time an unknown type, a duplicate name and options its schema refuses, naming each field', () => {
    expect(
      problems([
        { type: 'github-action', name: 'gh' },
        { type: 'hook', name: 'hook', url: 'http://plain.test', secretName: 'keyrot-tokens/s' },
        { type: 'hook', name: 'hook', url: 'https://ok.test', secretNam: 's' },
        { type: 'hook', name: 'bad name', url: 'https://ok.test', secretName: 'keyrot-tokens/s' },
      ]),
    ).toEqual([
      '  - users.ci-deploy.targets[0].type: unknown target type "github-action"; known types: hook',
      '  - users.ci-deploy.targets[1].url: "http://plain.test" does not match /^https:\\/\\//',
      '  - users.ci-deploy.targets[2].name: "hook" is used twice; target names must be unique per user',
      '  - users.ci-deploy.targets[2].secretName: expected string, got nothing (it is required)',
      '  - users.ci-deploy.targets[2].secretNam: unknown option; allowed: url, secretName',
      '  - users.ci-deploy.targets[3].name: "bad name" must be 1 to 64 letters, digits or _.:=+@-',
    ]);
  });

  it('refuses a token secret outside targetSecretPrefix, naming the option', () => {
    expect(
      problems([{ type: 'hook', name: 'h', url: 'https://ok.test', secretName: 'keyrot/ci-deploy' }]),
    ).toEqual([
      '  - users.ci-deploy.targets[0].secretName: "keyrot/ci-deploy" is outside targetSecretPrefix "keyrot-tokens/"',
    ]);
    expect(
      problems([{ type: 'hook', name: 'h', url: 'https://ok.test', secretName: 'ci/tokens/h' }], registry, {
        targetSecretPrefix: 'ci/tokens/',
      }),
    ).toEqual([]);
  });

  it('ships the four built-in types, as schemas only', () => {
    expect(defaultRegistry.types()).toEqual(['github-actions', 'gitlab', 'aws-ssm', 'webhook']);
  });

  it('refuses to register one type twice', () => {
    expect(() => createRegistry([hook as TargetType, hook as TargetType])).toThrow(
      'target type "hook" is registered twice',
    );
  });
});
