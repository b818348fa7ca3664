import { IAMClient } from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../lib/aws/clients.js';
import { RotationInProgressError } from '../../../lib/errors.js';
import { createSecret } from '../../../lib/rotation/steps.js';
import { listAccessKeysXml, queryError, scriptedHandler } from '../../helpers/fake-http.js';
import { ARN, describeOutput, keepPutValues, mockDeps, TOKEN } from '../../helpers/rotation-mocks.js';

// IAM runs through the real SDK stack (retries included) against a scripted HTTP handler; Secrets
// Manager is mocked.
const secrets = mockClient(SecretsManagerClient);
const OLD = { id: 'AKIAOLD0000000000000', status: 'Active', created: '2026-01-01T00:00:00Z' };
const NEW = { id: 'AKIANEW0000000000000', status: 'Active', created: '2026-06-01T00:00:00Z' };
const createdXml = `<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>ci</UserName><AccessKeyId>${NEW.id}</AccessKeyId><Status>Active</Status><SecretAccessKey>new-secret</SecretAccessKey><CreateDate>${NEW.created}</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>`;

function iamScript(
  create: (attempt: number) => { status: number; body: string },
  listsAfterFailure: Array<typeof OLD>,
) {
  let created = 0;
  return scriptedHandler((action, attempt) => {
    if (action === 'CreateAccessKey') {
      const reply = create(attempt);
      if (reply.status === 200) created++;
      return reply;
    }
    return {
      status: 200,
      body: listAccessKeysXml('ci', attempt === 1 ? [OLD] : created > 0 ? [OLD, NEW] : listsAfterFailure),
    };
  });
}

function depsWith(handler: ReturnType<typeof scriptedHandler>) {
  const { iam } = createClients({
    requestHandler: handler,
    retryStrategy: new ConfiguredRetryStrategy(8, () => 0),
  });
  iam.config.credentials = async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'test' });
  const { deps } = mockDeps();
  return { ...deps, clients: { ...deps.clients, iam } };
}

// IAM is the real client here, even when another file mocked it first in the same module graph
// (mutation testing runs the unit tests without isolation).
beforeAll(() => mockClient(IAMClient).restore());

beforeEach(() => {
  secrets.reset();
  keepPutValues(secrets);
  secrets.on(DescribeSecretCommand).resolves(describeOutput({ V1: ['AWSCURRENT'] }));
  secrets.on(TagResourceCommand).resolves({});
});

describe('CreateAccessKey, which is not idempotent', () => {
  it('is tried again when it failed without an answer and no key appeared', async () => {
    const handler = iamScript(
      (attempt) =>
        attempt === 1
          ? { status: 503, body: queryError('ServiceUnavailable') }
          : { status: 200, body: createdXml },
      [OLD],
    );
    const result = await createSecret(depsWith(handler), { secretId: ARN, token: TOKEN });
    expect(result.value.AccessKeyId).toBe(NEW.id);
    expect(handler.actions).toEqual([
      'ListAccessKeys',
      'CreateAccessKey',
      'ListAccessKeys',
      'CreateAccessKey',
    ]);
  });

  it('is not retried blindly when a key appeared: it reports a rotation in progress and stores nothing', async () => {
    const handler = iamScript(() => ({ status: 503, body: queryError('ServiceUnavailable') }), [OLD, NEW]);
    await expect(createSecret(depsWith(handler), { secretId: ARN, token: TOKEN })).rejects.toThrow(
      new RotationInProgressError(
        `CreateAccessKey for ci failed without an answer, and key ${NEW.id} appeared. keyrot has no secret for it, so it is deleted once this attempt is 15 minutes old; run again then.`,
      ),
    );
    expect(handler.actions.filter((a) => a === 'CreateAccessKey')).toHaveLength(1);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('is still retried by the SDK on throttling, which IAM answers before doing anything', async () => {
    const handler = iamScript(
      (attempt) =>
        attempt <= 2 ? { status: 400, body: queryError('Throttling') } : { status: 200, body: createdXml },
      [OLD],
    );
    await createSecret(depsWith(handler), { secretId: ARN, token: TOKEN });
    expect(handler.actions).toEqual([
      'ListAccessKeys',
      'CreateAccessKey',
      'CreateAccessKey',
      'CreateAccessKey',
    ]);
  });
});

describe('CreateAccessKey without an answer, at the edges', () => {
  const NEW2 = { id: 'AKIANEWTWO0000000000', status: 'Active', created: '2026-06-01T00:00:01Z' };

  it('gives up after three attempts that made no key, passing on the last failure', async () => {
    const handler = iamScript(() => ({ status: 503, body: queryError('ServiceUnavailable') }), [OLD]);
    await expect(createSecret(depsWith(handler), { secretId: ARN, token: TOKEN })).rejects.toMatchObject({
      name: 'ServiceUnavailable',
    });
    expect(handler.actions).toEqual([
      'ListAccessKeys',
      'CreateAccessKey',
      'ListAccessKeys',
      'CreateAccessKey',
      'ListAccessKeys',
      'CreateAccessKey',
      'ListAccessKeys',
    ]);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('treats an HTTP 500 as no answer: the SDK does not retry it blindly', async () => {
    const handler = iamScript(
      (attempt) =>
        attempt === 1
          ? { status: 500, body: queryError('ServiceFailure') }
          : { status: 200, body: createdXml },
      [OLD],
    );
    const result = await createSecret(depsWith(handler), { secretId: ARN, token: TOKEN });
    expect(result.value.AccessKeyId).toBe(NEW.id);
    expect(handler.actions).toEqual([
      'ListAccessKeys',
      'CreateAccessKey',
      'ListAccessKeys',
      'CreateAccessKey',
    ]);
  });

  it('treats a connection that failed without any HTTP status as no answer', async () => {
    const inner = iamScript(() => ({ status: 200, body: createdXml }), [OLD]);
    let creates = 0;
    const handler = {
      actions: inner.actions,
      handle: async (request: Parameters<typeof inner.handle>[0]) => {
        const body = typeof request.body === 'string' ? request.body : '';
        if (body.includes('Action=CreateAccessKey') && ++creates === 1) {
          inner.actions.push('CreateAccessKey (connection reset)');
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return inner.handle(request);
      },
    };
    const result = await createSecret(depsWith(handler), { secretId: ARN, token: TOKEN });
    expect(result.value.AccessKeyId).toBe(NEW.id);
    expect(handler.actions).toEqual([
      'ListAccessKeys',
      'CreateAccessKey (connection reset)',
      'ListAccessKeys',
      'CreateAccessKey',
    ]);
  });

  it('names every key that appeared, and keeps the lost answer as the cause', async () => {
    const handler = scriptedHandler((action, attempt) =>
      action === 'CreateAccessKey'
        ? { status: 503, body: queryError('ServiceUnavailable') }
        : { status: 200, body: listAccessKeysXml('ci', attempt === 1 ? [] : [NEW, NEW2]) },
    );
    const error = await createSecret(depsWith(handler), { secretId: ARN, token: TOKEN }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RotationInProgressError);
    expect((error as Error).message).toBe(
      `CreateAccessKey for ci failed without an answer, and key ${NEW.id}, ${NEW2.id} appeared. keyrot has no secret for it, so it is deleted once this attempt is 15 minutes old; run again then.`,
    );
    expect((error as Error).cause).toMatchObject({ name: 'ServiceUnavailable' });
  });
});
