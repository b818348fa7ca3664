import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertNoKeyMaterial } from './key-material.js';

/**
 * A loopback Slack incoming-webhook endpoint, written from Slack's documented behaviour: POST JSON to
 * /services/<team>/<bot>/<token>; 200 "ok"; 400 invalid_payload / invalid_blocks; 404
 * channel_not_found; 410 channel_is_archived; 429 rate_limited with Retry-After. It validates the
 * Block Kit payload as Slack would (block types, text limits, 50 blocks) and scans it for key material.
 *
 * Webhooks by token: `ok-*` accept; `missing` answers 404; `archived` 410; `limited-N` answers 429 the
 * first N times; `slow` never answers.
 */
export interface ReceivedSlack {
  token: string;
  payload: { text?: string; blocks?: Array<Record<string, unknown>> };
  at: number;
}

const BLOCK_TYPES = new Set(['header', 'section', 'context', 'divider', 'actions', 'image', 'rich_text']);

/** Slack's limits, checked the way Slack answers them: the error string Slack returns, or undefined. */
export function blockKitProblem(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object') return 'invalid_payload';
  const { text, blocks } = payload as { text?: unknown; blocks?: unknown };
  if (blocks === undefined) return typeof text === 'string' && text !== '' ? undefined : 'no_text';
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > 50) return 'invalid_blocks';
  for (const block of blocks as Array<Record<string, unknown>>) {
    if (!BLOCK_TYPES.has(String(block.type))) return 'invalid_blocks';
    const textObj = block.text as { type?: string; text?: string } | undefined;
    if (block.type === 'header') {
      if (textObj?.type !== 'plain_text' || !textObj.text || textObj.text.length > 150)
        return 'invalid_blocks';
    }
    if (block.type === 'section') {
      const fields = (block.fields as Array<{ text?: string }> | undefined) ?? [];
      if (!textObj && fields.length === 0) return 'invalid_blocks';
      if (textObj && (!textObj.text || textObj.text.length > 3000)) return 'invalid_blocks';
      if (fields.length > 10 || fields.some((f) => !f.text || f.text.length > 2000)) return 'invalid_blocks';
    }
    if (block.type === 'context') {
      const elements = (block.elements as unknown[] | undefined) ?? [];
      if (elements.length === 0 || elements.length > 10) return 'invalid_blocks';
    }
  }
  return undefined;
}

export async function startFakeSlack(secrets: readonly string[] = []) {
  const received: ReceivedSlack[] = [];
  const attempts = new Map<string, number>();
  const problems: string[] = [];
  const held: ServerResponse[] = [];
  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/services\/T[0-9A-Z]+\/B[0-9A-Z]+\/([\w-]+)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match?.[1]) return reply(res, 404, 'no_service');
      const token = match[1];
      attempts.set(token, (attempts.get(token) ?? 0) + 1);
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        assertNoKeyMaterial(body, secrets);
      } catch (error) {
        problems.push((error as Error).message);
      }
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return reply(res, 400, 'invalid_payload');
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        return reply(res, 400, 'invalid_payload');
      }
      const problem = blockKitProblem(payload);
      if (problem) {
        problems.push(`${token}: ${problem}`);
        return reply(res, 400, problem);
      }
      if (token === 'missing') return reply(res, 404, 'channel_not_found');
      if (token === 'archived') return reply(res, 410, 'channel_is_archived');
      if (token === 'slow') {
        held.push(res);
        return;
      }
      const limited = /^limited-(\d+)$/.exec(token);
      if (limited && (attempts.get(token) ?? 0) <= Number(limited[1]))
        return reply(res, 429, 'rate_limited', { 'retry-after': '1' });
      received.push({ token, payload: payload as ReceivedSlack['payload'], at: Date.now() });
      return reply(res, 200, 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    attempts,
    /** Payloads Slack would have refused, and key material found: a test asserts this stays empty. */
    problems,
    url: (token: string) => `http://127.0.0.1:${port}/services/T0KEYROT/B0KEYROT/${token}`,
    async stop() {
      for (const res of held) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
