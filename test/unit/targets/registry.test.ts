import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { parseConfig } from '../../../lib/config.js';
import { createRegistry } from '../../../lib/targets/registry.js';
import type { TargetFactory } from '../../../lib/targets/target.js';

const pushed: string[] = [];
const webhook: TargetFactory<{ url: string; secretName: string }> = {
  type: 'webhook',
  description: 'POSTs the new key to a URL',
  options: z.strictObject({ url: z.string().check(z.regex(/^https:\/\//)), secretName: z.string() }),
  create: (name, options) => ({
    type: 'webhook',
    name,
    push: async (c) => void pushed.push(`${name} ${options.url} ${c.accessKeyId}`),
    verify: async () => {},
  }),
};
const registry = createRegistry([webhook as TargetFactory]);
const config = (targets: unknown[]) => ({ users: { 'ci-deploy': { targets } } });
const problems = (targets: unknown[]) => {
  try {
    parseConfig(config(targets), 'keyrot.yaml', registry);
    return [];
  } catch (error) {
    return (error as Error).message.split('\n').filter((l) => l.startsWith('  - '));
  }
};

describe('the target registry', () => {
  it('accepts a valid target and builds a plain object from it', async () => {
    const parsed = parseConfig(
      config([
        { type: 'webhook', name: 'hook', url: 'https://example.test/k', secretName: 'keyrot/tokens/hook' },
      ]),
      'k.yaml',
      registry,
    );
    const [spec] = parsed.users['ci-deploy']?.targets ?? [];
    expect(spec).toEqual({
      type: 'webhook',
      name: 'hook',
      options: { url: 'https://example.test/k', secretName: 'keyrot/tokens/hook' },
    });
    const target = registry.build(spec ?? { type: '', name: '', options: {} }, { fetch });
    await target.push({ userName: 'ci-deploy', accessKeyId: 'AKIAX', secretAccessKey: 's' });
    expect(pushed).toEqual(['hook https://example.test/k AKIAX']);
  });

  it('rejects at load time an unknown type, a duplicate name and options its schema refuses, naming each field', () => {
    expect(
      problems([
        { type: 'github-actions', name: 'gh' },
        { type: 'webhook', name: 'hook', url: 'http://plain.test', secretName: 's' },
        { type: 'webhook', name: 'hook', url: 'https://ok.test', secretNam: 's' },
      ]),
    ).toEqual([
      '  - users.ci-deploy.targets[0].type: unknown target type "github-actions"; known types: webhook',
      '  - users.ci-deploy.targets[1].url: "http://plain.test" does not match /^https:\\/\\//',
      '  - users.ci-deploy.targets[2].name: "hook" is used twice; target names must be unique per user',
      '  - users.ci-deploy.targets[2].secretName: expected string, got nothing (it is required)',
      '  - users.ci-deploy.targets[2].secretNam: unknown option; allowed: url, secretName',
    ]);
  });

  it('says that no adapters ship yet when none is registered', () => {
    expect(() => parseConfig(config([{ type: 'gitlab', name: 'g' }]), 'k.yaml')).toThrow(
      'known types: none are available yet',
    );
  });

  it('refuses to register one type twice', () => {
    expect(() => createRegistry([webhook as TargetFactory, webhook as TargetFactory])).toThrow(
      'target type "webhook" is registered twice',
    );
  });
});
