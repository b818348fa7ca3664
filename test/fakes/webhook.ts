/**
 * A Standard Webhooks receiver: it verifies `webhook-signature` (v1, HMAC-SHA256 of
 * "id.timestamp.body" with the key after `whsec_`), refuses a timestamp more than 5 minutes off
 * (401), and drops a repeated `webhook-id` (answering 200 again), as the spec asks of receivers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type FakeRequest, type FakeServer, startFakeServer } from './server.js';

export interface Delivery {
  id: string;
  body: { type: string; userName: string; accessKeyId: string; secretAccessKey: string; rotatedAt: string };
}

export interface WebhookFake extends FakeServer {
  deliveries: Delivery[];
  /** Requests whose signature did not verify. */
  rejected: number;
}

export async function startWebhookFake(options: { secret: string; now?: () => Date }): Promise<WebhookFake> {
  const key = Buffer.from(options.secret.replace(/^whsec_/, ''), 'base64');
  const deliveries: Delivery[] = [];
  const state = { rejected: 0 };
  const verify = (r: FakeRequest): boolean => {
    const id = String(r.headers['webhook-id'] ?? '');
    const timestamp = String(r.headers['webhook-timestamp'] ?? '');
    const now = (options.now?.() ?? new Date()).getTime() / 1000;
    if (!/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > 300) return false;
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
    return String(r.headers['webhook-signature'] ?? '')
      .split(' ')
      .some((part) => {
        const [version, signature = ''] = part.split(',');
        const given = Buffer.from(signature, 'base64');
        return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
      });
  };
  const server = await startFakeServer((r) => {
    if (r.method !== 'POST' || r.path !== '/hooks/keyrot')
      return { status: 404, json: { error: 'not found' } };
    if (!verify(r)) {
      state.rejected++;
      return { status: 401, json: { error: 'invalid signature' } };
    }
    const id = String(r.headers['webhook-id']);
    if (!deliveries.some((d) => d.id === id))
      deliveries.push({ id, body: JSON.parse(r.body) as Delivery['body'] });
    return { status: 204 };
  });
  return Object.assign(server, {
    deliveries,
    get rejected() {
      return state.rejected;
    },
  });
}
