import { describe, expect, it } from 'vitest';
import { createDynamoDb, DynamoDbError } from '../../../lib/aws/dynamodb.js';
import { scriptedHandler } from '../../helpers/http-handler.js';

const credentials = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'not-a-real-secret' };

describe('the ledger’s DynamoDB calls', () => {
  it('signs a JSON 1.0 request for the operation and returns the parsed answer', async () => {
    const handler = scriptedHandler([{ status: 200, body: '{"Attributes":{}}' }]);
    const db = createDynamoDb({
      credentials,
      region: 'eu-west-1',
      endpoint: 'https://dynamodb.eu-west-1.amazonaws.com',
      requestHandler: handler,
    });
    expect(await db.send('PutItem', { TableName: 't', Item: {} })).toEqual({ Attributes: {} });
    const [request] = handler.requests;
    expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=.*x-amz-target/,
    );
    expect(JSON.parse(String(request?.body))).toEqual({ TableName: 't', Item: {} });
  });

  it("names DynamoDB's error type (a failed condition is not retried) and retries throttling and 5xx", async () => {
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    const refused = scriptedHandler([
      {
        status: 400,
        body: '{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}',
      },
    ]);
    const error = await createDynamoDb({
      credentials,
      endpoint: 'http://127.0.0.1:1',
      requestHandler: refused,
      sleep,
    })
      .send('PutItem', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbError);
    expect(error).toMatchObject({
      name: 'ConditionalCheckFailedException',
      message: 'The conditional request failed',
      $operation: 'dynamodb:PutItem',
      $metadata: { httpStatusCode: 400 },
    });
    expect(refused.requests).toHaveLength(1);

    const flaky = scriptedHandler([
      { status: 400, body: '{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException"}' },
      { status: 500, body: '{"__type":"InternalServerError"}' },
      { status: 200, body: '{}' },
    ]);
    expect(
      await createDynamoDb({
        credentials,
        endpoint: 'http://127.0.0.1:1',
        requestHandler: flaky,
        sleep,
      }).send('DeleteItem', {}),
    ).toEqual({});
    expect(flaky.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);

    const down = scriptedHandler([{ status: 503, body: '' }]);
    await expect(
      createDynamoDb({
        credentials,
        endpoint: 'http://127.0.0.1:1',
        requestHandler: down,
        sleep,
        maxAttempts: 2,
      }).send('GetItem', {}),
    ).rejects.toMatchObject({ name: 'HTTP503' });
    expect(down.requests).toHaveLength(2);
  });
});
