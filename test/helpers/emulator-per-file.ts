import { beforeAll, inject } from 'vitest';
import { pointAwsAt, resetEmulator } from '../../lib/testbed/moto.js';

// Every integration file starts from an empty account, with dummy credentials, never real AWS ones.
const endpoint = inject('awsEndpoint');
pointAwsAt(endpoint, 'testing');

beforeAll(() => resetEmulator(endpoint));
