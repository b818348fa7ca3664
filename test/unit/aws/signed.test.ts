import { describe, expect, it } from 'vitest';
import { jsonError, SignedCallError, signedCall } from '../../../lib/aws/signed.js';
import { scriptedHandler } from '../../helpers/http-handler.js';

const credentials = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'not-a-real-secret' };
const protocol = {
  service: 'ssm',
  contentType: 'application/x-amz-json-1.1',
  target: (operation: string) => `AmazonSSM.${operation}`,
  error: (_operation: string, status: number, text: string, headers: Record<string, string>) =>
    jsonError(status, text, headers),
  retryable: /Throttl/,
};

describe('signedCall', () => {
  it('sends the protocol’s content type and target, signed for the service and region', async () => {
    const handler = scriptedHandler([{ status: 200, body: '{"ok":true}' }]);
    const call = signedCall(protocol, {
      credentials,
      region: 'eu-central-1',
      endpoint: 'https://ssm.eu-central-1.amazonaws.com',
      requestHandler: handler,
    });
    expect(await call('GetParameter', '{"Name":"/a"}')).toBe('{"ok":true}');
    expect(handler.requests).toHaveLength(1);
    const [request] = handler.requests;
    expect(request?.headers['x-amz-target']).toBe('AmazonSSM.GetParameter');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(request?.headers.authorization).toMatch(/\/eu-central-1\/ssm\/aws4_request/);
  });

  it('retries no answer and 5xx up to maxAttempts, then names the failure without a status', async () => {
    const sleeps: number[] = [];
    const handler = scriptedHandler([Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })]);
    const call = signedCall(protocol, {
      credentials,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: handler,
      maxAttempts: 3,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const error = await call('PutParameter', '{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignedCallError);
    expect(error).toMatchObject({ name: 'NetworkError', $operation: 'ssm:PutParameter', $metadata: {} });
    expect(handler.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);

    const timedOut = scriptedHandler([Object.assign(new Error('timed out'), { name: 'TimeoutError' })]);
    const timeout = await signedCall(protocol, {
      credentials,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: timedOut,
      maxAttempts: 1,
    })('GetParameter', '{}').catch((e: unknown) => e);
    expect(timeout).toMatchObject({ name: 'TimeoutError' });
  });

  it('does not retry a refusal, and retries what the protocol calls retryable', async () => {
    const refused = scriptedHandler([
      {
        status: 400,
        headers: { 'x-amzn-errortype': 'ParameterNotFound:http://internal' },
      },
    ]);
    const call = signedCall(protocol, {
      credentials,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: refused,
    });
    await expect(call('GetParameter', '{}')).rejects.toMatchObject({
      name: 'ParameterNotFound',
      $metadata: { httpStatusCode: 400 },
    });
    expect(refused.requests).toHaveLength(1);

    const throttled = scriptedHandler([
      { status: 400, body: '{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}' },
      { status: 200, body: '{}' },
    ]);
    const again = signedCall(protocol, {
      credentials,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: throttled,
      sleep: async () => {},
    });
    expect(await again('GetParameter', '{}')).toBe('{}');
    expect(throttled.requests).toHaveLength(2);
  });

  it('reads the JSON protocols’ error shapes, and a page that is not JSON by its status', () => {
    expect(jsonError(400, '{"__type":"ns#Name","message":"m"}', {})).toEqual({ name: 'Name', message: 'm' });
    expect(jsonError(400, '{}', { 'x-amzn-errortype': 'Other:http://x' })).toEqual({
      name: 'Other',
      message: 'Other',
    });
    expect(jsonError(502, '<html>bad gateway</html>', {})).toEqual({ name: 'HTTP502', message: 'HTTP502' });
  });
});
