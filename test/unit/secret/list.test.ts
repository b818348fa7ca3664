import {
  ListSecretsCommand,
  type SecretListEntry,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { listManagedSecrets } from '../../../lib/secret/list.js';

const secrets = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({});

const entry = (name: string, tags: Record<string, string>): SecretListEntry => ({
  Name: name,
  ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`,
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

beforeEach(() => {
  secrets.reset();
});

describe('listManagedSecrets', () => {
  it('gives each managed user its secret name, all its tags and the cut-over time, and no cut-over when none is recorded', async () => {
    // Prepare
    const ciTags = {
      'keyrot:user': 'ci',
      'keyrot:user-arn': 'arn:aws:iam::123456789012:user/machine/ci',
      'keyrot:cutover': 'V2 2026-05-01T00:00:00.000Z',
      'keyrot:deactivated:AKIAOLD0000000000000': '2026-05-09T00:00:00.000Z',
    };
    secrets.on(ListSecretsCommand).resolves({
      SecretList: [
        entry('keyrot/ci', ciTags),
        entry('keyrot/deploy', { 'keyrot:user': 'deploy', 'keyrot:cutover': 'garbled' }),
      ],
    });
    // Act
    const found = await listManagedSecrets(client, defaultConfig);
    // Assess
    expect(found).toStrictEqual({
      ci: { secretName: 'keyrot/ci', tags: ciTags, cutoverAt: new Date('2026-05-01T00:00:00.000Z') },
      deploy: { secretName: 'keyrot/deploy', tags: { 'keyrot:user': 'deploy', 'keyrot:cutover': 'garbled' } },
    });
  });

  it('keeps exactly <prefix><user>: not a longer prefix, another name, an empty keyrot:user or a nameless entry', async () => {
    secrets.on(ListSecretsCommand).resolves({
      SecretList: [
        entry('keyrot-other/ci', { 'keyrot:user': 'ci' }),
        entry('keyrotci', { 'keyrot:user': 'ci' }),
        entry('keyrot/ci-old', { 'keyrot:user': 'ci' }),
        // A user may be named "undefined"; an empty tag names no user.
        entry('keyrot/undefined', { 'keyrot:user': '' }),
        { ARN: 'arn:x', Tags: [{ Key: 'keyrot:user', Value: 'ci' }] },
        entry('keyrot/ci', { 'keyrot:user': 'ci' }),
      ],
    });
    const found = await listManagedSecrets(client, defaultConfig);
    expect(found).toStrictEqual({ ci: { secretName: 'keyrot/ci', tags: { 'keyrot:user': 'ci' } } });
  });

  it('uses the configured prefix, both in the filter and in the names it keeps', async () => {
    secrets.on(ListSecretsCommand).resolves({
      SecretList: [
        entry('machines/ci', { 'keyrot:user': 'ci' }),
        entry('keyrot/deploy', { 'keyrot:user': 'deploy' }),
      ],
    });
    const found = await listManagedSecrets(client, { secretPrefix: 'machines/' });
    expect(Object.keys(found)).toEqual(['ci']);
    expect(secrets).toHaveReceivedCommandWith(ListSecretsCommand, {
      Filters: [
        { Key: 'name', Values: ['machines/'] },
        { Key: 'tag-key', Values: ['keyrot:user'] },
      ],
    });
  });

  it('reads a page without a secret list as empty, and goes on to the next page', async () => {
    const asked: (string | undefined)[] = [];
    secrets.on(ListSecretsCommand).callsFake((input: { NextToken?: string }) => {
      asked.push(input.NextToken);
      return input.NextToken === undefined
        ? { NextToken: 'p2' }
        : { SecretList: [entry('keyrot/ci', { 'keyrot:user': 'ci' })] };
    });
    const found = await listManagedSecrets(client, defaultConfig);
    expect(Object.keys(found)).toEqual(['ci']);
    expect(asked).toEqual([undefined, 'p2']);
  });
});
