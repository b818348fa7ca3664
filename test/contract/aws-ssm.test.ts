import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { inject } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { ssmPortFactory } from '../../lib/aws/ssm.js';
import { createAwsSsm } from '../../lib/targets/adapters/aws-ssm.js';
import { awsSsm } from '../../lib/targets/catalog.js';
import { type AwsProxy, startAwsProxy } from '../fakes/aws-proxy.js';
import { contract } from './kit.js';

// aws-ssm runs against moto's SSM, through a proxy that injects AWS errors.
let proxy: AwsProxy;
const ssm = () => new SSMClient({ endpoint: inject('awsEndpoint') });
const read = async (name: string) => {
  try {
    return (await ssm().send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
  } catch {
    return undefined;
  }
};
const awsError = (status: number, type: string) => (echo: string) => ({
  status,
  headers: { 'x-amzn-errortype': type },
  body: JSON.stringify({ __type: type, message: `refused ${echo}` }),
});

contract('aws-ssm', () => ({
  type: awsSsm,
  create: createAwsSsm as never,
  options: { parameterName: '/ci/deploy' },
  badOptions: [
    { options: {}, field: 'parameterName' },
    { options: { parameterName: 'ci/deploy/' }, field: 'parameterName' },
    { options: { parameterName: '/ci', externalId: 'abc' }, field: 'externalId' },
    { options: { parameterName: '/ci', roleArn: 'arn:aws:iam::123:user/x' }, field: 'roleArn' },
  ],
  token: 'no-token-for-ssm-0123456789',
  deps: () => ({
    fetch,
    readToken: async () => 'no-token-for-ssm-0123456789',
    ssm: ssmPortFactory({
      // Signed as the test's identity (the administrator role in the environment: moto enforces IAM).
      credentials: () => createClients().iam.config.credentials(),
      endpoint: proxy.url,
      maxAttempts: 2,
      requestTimeoutMs: 3000,
      sleep: async () => {},
    }),
  }),
  holds: async () => {
    const accessKeyId = await read('/ci/deploy/AWS_ACCESS_KEY_ID');
    const secretAccessKey = await read('/ci/deploy/AWS_SECRET_ACCESS_KEY');
    return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  },
  fingerprints: true,
  fail: (fault, times) => proxy.fail(fault, { times }),
  clearFaults: () => proxy.clearFaults(),
  cases: [
    {
      label: 'AccessDeniedException',
      fault: awsError(400, 'AccessDeniedException'),
      expect: { failureClass: 'forbidden' },
    },
    {
      label: 'HTTP 403',
      fault: awsError(403, 'UnrecognizedClientException'),
      expect: { failureClass: 'forbidden' },
    },
    {
      label: 'ValidationException',
      fault: awsError(400, 'ValidationException'),
      expect: { failureClass: 'invalid' },
    },
    { label: 'InvalidKeyId', fault: awsError(400, 'InvalidKeyId'), expect: { failureClass: 'invalid' } },
    {
      label: 'throttling on every attempt',
      fault: awsError(400, 'ThrottlingException'),
      times: 'always',
      expect: { failureClass: 'throttled' },
    },
    {
      label: 'HTTP 500 on every attempt',
      fault: awsError(500, 'InternalServerError'),
      times: 'always',
      expect: { failureClass: 'server' },
    },
    {
      label: 'no answer on every attempt',
      fault: () => 'hang',
      times: 'always',
      expect: { failureClass: 'network' },
    },
  ],
  setup: async () => {
    proxy = await startAwsProxy(inject('awsEndpoint'));
    // moto's first SecureString write takes seconds (it loads its KMS); take that out of the timings.
    await ssm().send(
      new PutParameterCommand({ Name: '/warm-up', Value: 'x', Type: 'SecureString', Overwrite: true }),
    );
  },
  teardown: () => proxy.close(),
}));
