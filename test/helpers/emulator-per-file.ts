import { beforeAll, inject } from 'vitest';
import { resetEmulator } from '../../lib/testbed/moto.js';

// Every integration file starts from an empty account, with dummy credentials, never real AWS ones.
const endpoint = inject('awsEndpoint');
Object.assign(process.env, {
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
});
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

beforeAll(() => resetEmulator(endpoint));
