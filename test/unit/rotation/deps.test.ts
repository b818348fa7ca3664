/**
 * rotationDeps: the rotation's dependencies built from the config. Timings and policy in the units
 * the steps use; targets built once per user with the adapters and the given registry; adapters given
 * tokens read under targetSecretPrefix (once per invocation), the wall clock for what providers
 * compare, the given clock for waiting, and an SSM port signed like every other client.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IAMClient } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Config, parseConfig } from '../../../lib/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { rotationDeps } from '../../../lib/rotation/deps.js';
import type { Target } from '../../../lib/targets/port.js';
import { defaultRegistry, type TargetRegistry } from '../../../lib/targets/registry.js';
import { manualClock } from '../../helpers/clock.js';

const secretsMock = mockClient(SecretsManagerClient);
/** The rotate role's credentials, as every client of the invocation holds them. */
const ROLE = { accessKeyId: 'AKIAROTATEROLE000001', secretAccessKey: 'role-secret-not-real' };
/** A Standard Webhooks signing secret: whsec_ and base64 of 24 bytes. */
const SIGNING_SECRET = `whsec_${Buffer.from('0123456789abcdef01234567').toString('base64')}`;
const credential = { userName: 'ci', accessKeyId: 'AKIANEW0000000000000', secretAccessKey: 'new-secret' };
const ctx = { userName: 'ci', versionId: 'V2', rotatedAt: new Date('2026-06-01T12:00:00Z') };
/** A simulated clock (as `--now` gives), far from the wall clock. */
const SIMULATED = new Date('2020-01-01T00:00:00Z');

/** A webhook target as parsed (TargetSpec); the config file has its options inline. */
const webhookTarget = (name: string, signingSecretId = 'tokens/hook') => ({
  type: 'webhook',
  name,
  options: { url: `https://hooks.example.com/${name}`, signingSecretId },
});
const inline = ({ type, name, options }: { type: string; name: string; options: object }) => ({
  type,
  name,
  ...options,
});

const config: Config = parseConfig(
  {
    targetSecretPrefix: 'tokens/',
    rotation: { propagationTimeoutSeconds: 90, abandonAfterMinutes: 7, targetConcurrency: 3 },
    policy: { idleDaysBeforeDeactivate: 4, deleteAfterDays: 9 },
    users: {
      ci: {
        targets: [
          inline(webhookTarget('ci-hook')),
          { type: 'aws-ssm', name: 'params', parameterName: '/ci/deploy' },
        ],
      },
      deploy: { targets: [inline(webhookTarget('deploy-hook'))] },
      bare: {},
    },
  },
  'deps.test',
);

function clients() {
  return {
    iam: new IAMClient({ region: 'us-east-1', credentials: ROLE }),
    secrets: new SecretsManagerClient({ region: 'us-east-1', credentials: ROLE }),
    stsWith: () => new STSClient({ region: 'us-east-1' }),
  };
}

/** A fetch that answers from a list of statuses (the last one repeats) and keeps each request. */
function scriptedFetch(statuses: number[]) {
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    requests.push({
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: String(init?.body),
    });
    const status = statuses[Math.min(requests.length, statuses.length) - 1] ?? 200;
    return new Response(status === 204 ? null : '{}', { status });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

const named = (targets: readonly Target[]) => targets.map((t) => t.describe());

function only<T>(list: readonly T[]): T {
  expect(list).toHaveLength(1);
  const [first] = list;
  if (first === undefined) throw new Error('one element expected');
  return first;
}

beforeEach(() => {
  secretsMock.reset();
  secretsMock
    .on(GetSecretValueCommand, { SecretId: 'tokens/hook' })
    .resolves({ SecretString: SIGNING_SECRET });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

describe('rotationDeps', () => {
  it('takes the timings and policy from the config, in milliseconds, and keeps the clients and clock it is given', () => {
    // Prepare
    const given = clients();
    const clock = manualClock(SIMULATED);
    // Act
    const deps = rotationDeps(given, clock, config);
    // Assess
    expect(deps.settings).toEqual({
      propagationTimeoutMs: 90_000,
      abandonAfterMs: 420_000,
      targetConcurrency: 3,
      idleDaysBeforeDeactivate: 4,
      deleteAfterDays: 9,
    });
    expect(deps.clients).toBe(given);
    expect(deps.clock).toBe(clock);
  });

  it('gives the steps the logger it is given, and otherwise a quiet one they can call', () => {
    const logger = { info: vi.fn(), warn: vi.fn() };
    expect(rotationDeps(clients(), manualClock(), config, { logger }).logger).toBe(logger);

    const quiet = rotationDeps(clients(), manualClock(), config).logger;
    expect(quiet).toEqual({ info: expect.any(Function), warn: expect.any(Function) });
    expect(quiet?.info('target received key', { user: 'ci' })).toBeUndefined();
    expect(quiet?.warn('target disabled', { user: 'ci' })).toBeUndefined();
  });

  it('builds a user’s configured targets with the adapters once, and none for a user without targets', () => {
    const deps = rotationDeps(clients(), manualClock(), config);
    const targets = deps.targetsFor('ci');
    expect(named(targets)).toEqual([
      {
        type: 'webhook',
        name: 'ci-hook',
        url: 'https://hooks.example.com/ci-hook',
        signingSecretId: 'tokens/hook',
      },
      expect.objectContaining({ type: 'aws-ssm', name: 'params' }),
    ]);
    // The same objects on every call: the rotation's steps share one set of targets.
    expect(deps.targetsFor('ci')).toBe(targets);
    expect(named(deps.targetsFor('deploy'))).toEqual([expect.objectContaining({ name: 'deploy-hook' })]);
    expect(deps.targetsFor('bare')).toEqual([]);
    expect(deps.targetsFor('not-configured')).toEqual([]);
  });

  it('parses each target’s options with the registry it is given', () => {
    const seen: string[] = [];
    const registry: TargetRegistry = {
      ...defaultRegistry,
      options: (spec) => {
        seen.push(spec.name);
        return { ...(defaultRegistry.options(spec) as object), url: 'https://elsewhere.example.com/in' };
      },
    };
    const deps = rotationDeps(clients(), manualClock(), config, { registry });
    expect(named(deps.targetsFor('deploy'))).toEqual([
      expect.objectContaining({ name: 'deploy-hook', url: 'https://elsewhere.example.com/in' }),
    ]);
    expect(seen).toEqual(['deploy-hook']);
  });

  it('gives adapters the token read once from Secrets Manager, the wall clock to sign with, and the given clock to wait on', async () => {
    // Prepare: the receiver fails once (503), then takes the delivery.
    const http = scriptedFetch([503, 204]);
    const clock = manualClock(SIMULATED);
    const deps = rotationDeps(clients(), clock, config, { targetDeps: { fetch: http.fetch } });
    const [ciHook] = deps.targetsFor('ci');
    const [deployHook] = deps.targetsFor('deploy');
    // Act
    const before = Math.floor(Date.now() / 1000);
    expect(await ciHook?.push(credential, ctx)).toEqual({ outcome: 'pushed' });
    expect(
      await deployHook?.push({ ...credential, userName: 'deploy' }, { ...ctx, userName: 'deploy' }),
    ).toEqual({
      outcome: 'pushed',
    });
    const after = Math.floor(Date.now() / 1000);
    // Assess: one read of the signing secret, under the prefix, for both users' targets.
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'tokens/hook',
      VersionStage: 'AWSCURRENT',
    });
    expect(http.requests.map((r) => r.url)).toEqual([
      'https://hooks.example.com/ci-hook',
      'https://hooks.example.com/ci-hook',
      'https://hooks.example.com/deploy-hook',
    ]);
    // Signed with the token's key, stamped with the wall clock, not the simulated one.
    const delivered = http.requests[1];
    const timestamp = Number(delivered?.headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
    const key = Buffer.from(SIGNING_SECRET.slice('whsec_'.length), 'base64');
    const signed = `${delivered?.headers['webhook-id']}.${delivered?.headers['webhook-timestamp']}.${delivered?.body}`;
    expect(delivered?.headers['webhook-signature']).toBe(
      `v1,${createHmac('sha256', key).update(signed).digest('base64')}`,
    );
    // The back-off after the 503 went through the given clock.
    expect(clock.sleeps).toEqual([500]);
    expect(clock.now()).toEqual(new Date(SIMULATED.getTime() + 500));
  });

  it('lets adapters read tokens only under targetSecretPrefix', async () => {
    // A config that bypassed validation: its signing secret lies outside the prefix.
    const outside: Config = {
      ...config,
      users: { ci: { targets: [webhookTarget('ci-hook', 'other/hook')] } },
    };
    const http = scriptedFetch([204]);
    const deps = rotationDeps(clients(), manualClock(), outside, { targetDeps: { fetch: http.fetch } });
    const error = await only(deps.targetsFor('ci'))
      .push(credential, ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      message:
        'Token secret other/hook is outside targetSecretPrefix "tokens/"; keyrot reads tokens only from secrets under that prefix.',
    });
    expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(http.requests).toEqual([]);
  });

  it('gives adapters the global fetch unless one is given', async () => {
    const http = scriptedFetch([204]);
    vi.stubGlobal('fetch', http.fetch);
    const deps = rotationDeps(clients(), manualClock(), config);
    expect(await deps.targetsFor('deploy')[0]?.push(credential, ctx)).toEqual({ outcome: 'pushed' });
    expect(http.requests.map((r) => r.url)).toEqual(['https://hooks.example.com/deploy-hook']);
  });

  describe('the aws-ssm adapter’s SSM port', () => {
    let server: Server;
    const requests: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    beforeEach(async () => {
      requests.splice(0);
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on('end', () => {
          requests.push({ headers: req.headers, body });
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end('{"Version":1,"Tier":"Standard"}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    afterEach(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('signs with the credentials every other client of the invocation holds', async () => {
      const deps = rotationDeps(clients(), manualClock(SIMULATED), config);
      const params = deps.targetsFor('ci')[1];
      expect(await params?.push(credential, ctx)).toEqual({ outcome: 'pushed' });
      expect(
        requests.map((r) => [r.headers['x-amz-target'], (JSON.parse(r.body) as { Name: string }).Name]),
      ).toEqual([
        ['AmazonSSM.PutParameter', '/ci/deploy/AWS_SECRET_ACCESS_KEY'],
        ['AmazonSSM.PutParameter', '/ci/deploy/AWS_ACCESS_KEY_ID'],
        ['AmazonSSM.PutParameter', '/ci/deploy/KEYROT_ACCESS_KEY_ID'],
      ]);
      for (const { headers } of requests)
        expect(headers.authorization).toMatch(
          new RegExp(`^AWS4-HMAC-SHA256 Credential=${ROLE.accessKeyId}/\\d{8}/us-east-1/ssm/aws4_request`),
        );
    });
  });
});
