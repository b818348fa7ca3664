import { jsonError, SignedCallError, type SignedCallOptions, signedCall } from './signed.js';

/**
 * The DynamoDB calls the alert ledger (and organization mode's digest store: UpdateItem, BatchGetItem)
 * make, over DynamoDB's JSON API through `signedCall`.
 * Why not @aws-sdk/client-dynamodb: it adds 41 KB to each bundle (its error classes, schemas and
 * endpoint rules), which would take the retire bundle over the 400 KB budget; the ledger needs PutItem
 * and DeleteItem with a condition, nothing more.
 */
export interface DynamoDb {
  send(
    operation: 'PutItem' | 'DeleteItem' | 'GetItem' | 'UpdateItem' | 'BatchGetItem',
    input: Record<string, unknown>,
  ): Promise<unknown>;
}

/** DynamoDB refused a call; `name` is DynamoDB's error type (ConditionalCheckFailedException, ...). */
export const DynamoDbError = SignedCallError;
export type DynamoDbError = SignedCallError;

export type DynamoDbOptions = SignedCallOptions;

export function createDynamoDb(options: DynamoDbOptions): DynamoDb {
  const call = signedCall(
    {
      service: 'dynamodb',
      contentType: 'application/x-amz-json-1.0',
      target: (operation) => `DynamoDB_20120810.${operation}`,
      error: (_operation, status, text, headers) => jsonError(status, text, headers),
      retryable:
        /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|InternalServerError|ServiceUnavailable/,
    },
    options,
  );
  return {
    async send(operation, input) {
      const text = await call(operation, JSON.stringify(input));
      return text ? (JSON.parse(text) as unknown) : {};
    },
  };
}
