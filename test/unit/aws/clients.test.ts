import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { describe, expect, it } from 'vitest';
import { type CallCounter, createClients, totalCalls } from '../../../lib/aws/clients.js';
import { operationOf } from '../../../lib/aws/errors.js';
import { listAccessKeys } from '../../../lib/inventory/per-user.js';
import { listAccessKeysXml, queryError, scriptedHandler } from '../../helpers/fake-http.js';

const noWait = (attempts: number) => new ConfiguredRetryStrategy(attempts, () => 0);
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

describe('createClients', () => {
  it('retries throttled IAM calls until they succeed, counting one call', async () => {
    // Prepare: IAM throttles the first three attempts.
    const handler = scriptedHandler((_action, attempt) =>
      attempt <= 3
        ? { status: 400, body: queryError('Throttling', 'Rate exceeded') }
        : {
            status: 200,
            body: listAccessKeysXml('ci', [
              { id: 'AKIAOK', status: 'Active', created: '2026-01-01T00:00:00Z' },
            ]),
          },
    );
    const counter: CallCounter = new Map();
    const { iam } = createClients({
      requestHandler: handler,
      retryStrategy: noWait(8),
      callCounter: counter,
    });
    iam.config.credentials = async () => credentials;
    // Act
    const keys = await listAccessKeys(iam, 'ci');
    // Assess
    expect(keys.map((k) => k.accessKeyId)).toEqual(['AKIAOK']);
    expect(handler.actions).toEqual(['ListAccessKeys', 'ListAccessKeys', 'ListAccessKeys', 'ListAccessKeys']);
    expect(counter.get('iam:ListAccessKeys')).toBe(1);
    expect(totalCalls(counter)).toBe(1);
  });

  it('gives up after the attempt budget and names the operation on the error', async () => {
    const handler = scriptedHandler(() => ({ status: 400, body: queryError('Throttling', 'Rate exceeded') }));
    const { iam } = createClients({ requestHandler: handler, retryStrategy: noWait(3) });
    iam.config.credentials = async () => credentials;
    const failure = listAccessKeys(iam, 'ci');
    await expect(failure).rejects.toMatchObject({ name: 'Throttling' });
    expect(operationOf(await failure.catch((e: unknown) => e))).toBe('iam:ListAccessKeys');
    expect(handler.actions).toHaveLength(3);
  });

  it("does not retry IAM's LimitExceeded: it is the two-keys quota, not a rate", async () => {
    const handler = scriptedHandler(() => ({
      status: 409,
      body: queryError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2'),
    }));
    const { iam } = createClients({ requestHandler: handler, retryStrategy: noWait(8) });
    iam.config.credentials = async () => credentials;
    await expect(listAccessKeys(iam, 'ci')).rejects.toMatchObject({ name: 'LimitExceededException' });
    expect(handler.actions).toEqual(['ListAccessKeys']);
  });

  it('does not retry an access-denied error', async () => {
    const handler = scriptedHandler(() => ({
      status: 403,
      body: queryError('AccessDenied', 'not authorized'),
    }));
    const { iam } = createClients({ requestHandler: handler, retryStrategy: noWait(8) });
    iam.config.credentials = async () => credentials;
    await expect(listAccessKeys(iam, 'ci')).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(handler.actions).toEqual(['ListAccessKeys']);
  });
});
