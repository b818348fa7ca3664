import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGithubActions } from '../../../lib/targets/adapters/github-actions.js';
import { createGitlab } from '../../../lib/targets/adapters/gitlab.js';
import { createWebhook } from '../../../lib/targets/adapters/webhook.js';
import { githubActions, gitlab, webhook } from '../../../lib/targets/catalog.js';
import { rateLimitWait } from '../../../lib/targets/http.js';
import type { TargetDeps } from '../../../lib/targets/port.js';
import { createRegistry } from '../../../lib/targets/registry.js';
import { sealedBox } from '../../../lib/targets/sealed-box.js';
import { tokenReader } from '../../../lib/targets/tokens.js';
import { type GithubFake, startGithubFake } from '../../fakes/github.js';
import { type GitlabFake, startGitlabFake } from '../../fakes/gitlab.js';
import { startWebhookFake, type WebhookFake } from '../../fakes/webhook.js';

const TOKEN = 'token-0123456789';
const credential = {
  userName: 'ci',
  accessKeyId: 'AKIAUNIT000000000001',
  secretAccessKey: randomBytes(30).toString('base64'),
};
const ctx = { userName: 'ci', versionId: 'v1', rotatedAt: new Date('2026-06-01T00:00:00Z') };
const deps = (token = TOKEN): TargetDeps => ({
  fetch,
  readToken: async () => token,
  clock: { now: () => new Date(), sleep: async () => {} },
  logger: { info: () => {}, warn: () => {} },
  http: { timeoutMs: 1_000, attempts: 2, maxWaitMs: 1_000 },
});
const parse = (type: typeof githubActions | typeof gitlab | typeof webhook, options: object) =>
  createRegistry([type]).options({ type: type.type, name: 'x', options }) as never;

describe('the sealed box', () => {
  it("is opened by libsodium's crypto_box_seal_open", async () => {
    await sodium.ready;
    const pair = sodium.crypto_box_keypair();
    const sealed = sealedBox(new TextEncoder().encode(credential.secretAccessKey), pair.publicKey);
    expect(sodium.to_string(sodium.crypto_box_seal_open(sealed, pair.publicKey, pair.privateKey))).toBe(
      credential.secretAccessKey,
    );
    // A fresh ephemeral key every time: the same value never seals to the same bytes.
    expect(sealedBox(new Uint8Array([1]), pair.publicKey)).not.toEqual(
      sealedBox(new Uint8Array([1]), pair.publicKey),
    );
  });
});

describe('github-actions', () => {
  let github: GithubFake;
  beforeAll(async () => {
    github = await startGithubFake({
      token: TOKEN,
      repositories: ['acme/app'],
      environments: ['acme/app:production'],
      organizations: ['acme'],
    });
  });
  afterAll(() => github.close());
  beforeEach(() => github.requests.splice(0));

  it('writes an environment secret under the environment', async () => {
    const target = createGithubActions(
      'env',
      parse(githubActions, {
        repository: 'acme/app',
        environment: 'production',
        tokenSecretId: 't',
        apiUrl: github.url,
      }),
      deps(),
    );
    await target.push(credential, ctx);
    expect(github.secret('env:acme/app:production', 'AWS_SECRET_ACCESS_KEY')).toBe(
      credential.secretAccessKey,
    );
    expect(github.variable('env:acme/app:production', 'KEYROT_ACCESS_KEY_ID')).toBe(credential.accessKeyId);
    expect(github.secret('repo:acme/app', 'AWS_SECRET_ACCESS_KEY')).toBeUndefined();
  });

  it('keeps the visibility an organization secret already has when the options do not say', async () => {
    github.seedOrgSecret('acme', 'AWS_SECRET_ACCESS_KEY', 'selected');
    const target = createGithubActions(
      'org',
      parse(githubActions, { organization: 'acme', tokenSecretId: 't', apiUrl: github.url }),
      deps(),
    );
    await target.push(credential, ctx);
    expect(github.secretVisibility('org:acme', 'AWS_SECRET_ACCESS_KEY')).toBe('selected');
    expect(github.secretVisibility('org:acme', 'AWS_ACCESS_KEY_ID')).toBe('selected');
    const explicit = createGithubActions(
      'org',
      parse(githubActions, {
        organization: 'acme',
        visibility: 'private',
        tokenSecretId: 't',
        apiUrl: github.url,
      }),
      deps(),
    );
    await explicit.push(credential, ctx);
    expect(github.secretVisibility('org:acme', 'AWS_SECRET_ACCESS_KEY')).toBe('private');
  });

  it('makes 4 calls per push to a repository once its variable exists, and verifies without a call in the same process', async () => {
    const target = createGithubActions(
      'repo',
      parse(githubActions, { repository: 'acme/app', tokenSecretId: 't', apiUrl: github.url }),
      deps(),
    );
    await target.push(credential, ctx);
    github.requests.splice(0);
    await target.push(credential, ctx);
    await target.verify(credential, ctx);
    expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/acme/app/actions/secrets/public-key',
      'PUT /repos/acme/app/actions/secrets/AWS_SECRET_ACCESS_KEY',
      'PUT /repos/acme/app/actions/secrets/AWS_ACCESS_KEY_ID',
      'PATCH /repos/acme/app/actions/variables/KEYROT_ACCESS_KEY_ID',
    ]);
  });

  it('names the token secret and the fix on 401, never the token', async () => {
    const target = createGithubActions(
      'repo',
      parse(githubActions, { repository: 'acme/app', tokenSecretId: 'keyrot-tokens/gh', apiUrl: github.url }),
      deps('wrong-token-value'),
    );
    const error = (await target.push(credential, ctx).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      failureClass: 'unauthorized',
      retryable: false,
      message:
        'github-actions target "repo": HTTP 401 on GET /repos/acme/app/actions/secrets/public-key (Bad credentials): the token in keyrot-tokens/gh is invalid or expired: store a valid token there',
    });
  });
});

describe('gitlab', () => {
  let fake: GitlabFake;
  beforeAll(async () => {
    fake = await startGitlabFake({ token: TOKEN, projects: ['42'], groups: ['acme'] });
  });
  afterAll(() => fake.close());

  it('updates only the variable of its environment scope when a key exists in several', async () => {
    fake.seed('projects/42', {
      key: 'AWS_ACCESS_KEY_ID',
      value: 'AKIASTAGING000000000',
      environment_scope: 'staging',
    });
    fake.seed('projects/42', {
      key: 'AWS_ACCESS_KEY_ID',
      value: 'AKIAPROD000000000000',
      environment_scope: 'production',
    });
    const target = createGitlab(
      'g',
      parse(gitlab, { project: 42, environmentScope: 'production', tokenSecretId: 't', apiUrl: fake.url }),
      deps(),
    );
    await target.push(credential, ctx);
    expect(fake.variable('projects/42', 'AWS_ACCESS_KEY_ID', 'production')?.value).toBe(
      credential.accessKeyId,
    );
    expect(fake.variable('projects/42', 'AWS_ACCESS_KEY_ID', 'staging')?.value).toBe('AKIASTAGING000000000');
    expect(await target.fingerprint({ userName: 'ci' })).toEqual({
      state: 'holds',
      accessKeyId: credential.accessKeyId,
    });
  });

  it('updates a variable another run created between its PUT and its POST ("has already been taken")', async () => {
    fake.seed('groups/acme', { key: 'AWS_SECRET_ACCESS_KEY', value: 'created-meanwhile' });
    // The first PUT answers as if the variable did not exist yet.
    fake.fail({ status: 404, body: '{"message":"404 Variable Not Found"}' }, { times: 1 });
    const target = createGitlab(
      'g',
      parse(gitlab, { group: 'acme', tokenSecretId: 't', apiUrl: fake.url }),
      deps(),
    );
    await target.push(credential, ctx);
    expect(fake.variable('groups/acme', 'AWS_SECRET_ACCESS_KEY')).toMatchObject({
      value: credential.secretAccessKey,
      masked: true,
      protected: false,
    });
  });
});

describe('webhook', () => {
  let fake: WebhookFake;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  beforeAll(async () => {
    fake = await startWebhookFake({ secret });
  });
  afterAll(() => fake.close());

  it('signs per Standard Webhooks, with the same webhook-id for every retry of one delivery', async () => {
    const target = createWebhook(
      'h',
      parse(webhook, { url: `${fake.url}/hooks/keyrot`, signingSecretId: 's' }),
      deps(secret),
    );
    await target.push(credential, ctx);
    await target.push(credential, ctx);
    expect(fake.rejected).toBe(0);
    expect(fake.deliveries).toHaveLength(1);
    expect(fake.deliveries[0]?.body).toEqual({
      type: 'keyrot.key.rotated',
      userName: 'ci',
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      rotatedAt: '2026-06-01T00:00:00.000Z',
    });
  });

  it('is disabled, and says so, when the receiver answers 410', async () => {
    fake.fail({ status: 410 });
    const target = createWebhook(
      'h',
      parse(webhook, { url: `${fake.url}/hooks/keyrot`, signingSecretId: 's' }),
      deps(secret),
    );
    expect(await target.push(credential, ctx)).toEqual({
      outcome: 'disabled',
      reason:
        'webhook target "h": the receiver answered 410 Gone, so the target is disabled; fix or remove it in the config, then rotate again',
    });
  });

  it('refuses a signing secret that is not whsec_, without echoing it', async () => {
    const target = createWebhook(
      'h',
      parse(webhook, { url: `${fake.url}/hooks/keyrot`, signingSecretId: 'keyrot-tokens/h' }),
      deps('not-a-webhook-secret'),
    );
    const error = (await target.push(credential, ctx).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(
      'the signing secret in keyrot-tokens/h is not a Standard Webhooks secret',
    );
    expect(error.message).not.toContain('not-a-webhook-secret');
  });
});

describe('rate-limit waits', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it('reads Retry-After in seconds or as an HTTP date, else the rate-limit reset', () => {
    expect(rateLimitWait(new Headers({ 'retry-after': '7' }), now)).toBe(7000);
    expect(rateLimitWait(new Headers({ 'retry-after': 'Mon, 01 Jun 2026 00:00:30 GMT' }), now)).toBe(30_000);
    expect(rateLimitWait(new Headers({ 'x-ratelimit-reset': String(now.getTime() / 1000 + 12) }), now)).toBe(
      12_000,
    );
    expect(rateLimitWait(new Headers({}), now)).toBeUndefined();
  });
});

describe('the token reader', () => {
  const secrets = mockClient(SecretsManagerClient);
  beforeEach(() => secrets.reset());

  it('reads AWSCURRENT of a secret under the prefix, once', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: ' tok \n' });
    const read = tokenReader(new SecretsManagerClient({}), 'keyrot-tokens/');
    expect(await read('keyrot-tokens/gh')).toBe('tok');
    expect(await read('keyrot-tokens/gh')).toBe('tok');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'keyrot-tokens/gh',
      VersionStage: 'AWSCURRENT',
    });
  });

  it('refuses a secret outside the prefix without asking AWS', async () => {
    const read = tokenReader(new SecretsManagerClient({}), 'keyrot-tokens/');
    await expect(read('keyrot/ci')).rejects.toThrow(
      'Token secret keyrot/ci is outside targetSecretPrefix "keyrot-tokens/"',
    );
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
