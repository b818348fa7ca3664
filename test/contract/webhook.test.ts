import { randomBytes } from 'node:crypto';
import { createWebhook } from '../../lib/targets/adapters/webhook.js';
import { webhook } from '../../lib/targets/catalog.js';
import { startWebhookFake, type WebhookFake } from '../fakes/webhook.js';
import { httpCases } from './http-cases.js';
import { contract } from './kit.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
let fake: WebhookFake;

contract('webhook', () => ({
  type: webhook,
  create: createWebhook as never,
  get options() {
    return { url: `${fake.url}/hooks/keyrot`, signingSecretId: 'keyrot-tokens/hook' };
  },
  badOptions: [
    { options: { url: 'http://hooks.example/keyrot', signingSecretId: 's' }, field: 'url' },
    { options: { url: 'https://user:pw@hooks.example/', signingSecretId: 's' }, field: 'url' },
    { options: { url: 'https://hooks.example/' }, field: 'signingSecretId' },
    { options: { url: 'https://hooks.example/', signingSecretId: 's', secret: 'x' }, field: 'secret' },
  ],
  token: SECRET,
  deps: () => ({ fetch, readToken: async () => SECRET }),
  holds: async () => {
    const last = fake.deliveries.at(-1)?.body;
    return last ? { accessKeyId: last.accessKeyId, secretAccessKey: last.secretAccessKey } : undefined;
  },
  fingerprints: false,
  fail: (fault, times) => fake.fail(fault, { times }),
  clearFaults: () => fake.clearFaults(),
  cases: httpCases((message) => JSON.stringify({ error: message })),
  setup: async () => {
    fake = await startWebhookFake({ secret: SECRET });
  },
  teardown: () => fake.close(),
}));
