import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A failure the fake answers instead of its normal reply: a status (with headers and body) or no answer. */
export type Fault = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeReply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

export interface FakeServer {
  url: string;
  /** Every request received, in order (method and path). */
  requests: Array<{ method: string; path: string }>;
  /** Answers the next `times` requests (matching `when`, if given) with `fault`. */
  fail(fault: Fault, options?: { times?: number; when?: (r: FakeRequest) => boolean }): void;
  clearFaults(): void;
  /** Delay added before every answer (the bench's provider latency). */
  latencyMs: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and a free port, answering with `route`. Faults queued with
 * `fail` come first. Used by the provider fakes; nothing here knows a provider.
 */
export async function startFakeServer(route: (request: FakeRequest) => FakeReply): Promise<FakeServer> {
  const faults: Array<{ fault: Fault; left: number; when?: (r: FakeRequest) => boolean }> = [];
  const hanging = new Set<ServerResponse>();
  const requests: FakeServer['requests'] = [];
  let latencyMs = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push({ method: request.method, path: request.path });
      const queued = faults.find((f) => f.left > 0 && (f.when === undefined || f.when(request)));
      const answer = () => {
        if (queued) {
          queued.left--;
          if (queued.fault === 'hang') {
            hanging.add(res);
            res.on('close', () => hanging.delete(res));
            return;
          }
          res.writeHead(queued.fault.status, { 'content-type': 'application/json', ...queued.fault.headers });
          res.end(queued.fault.body ?? '');
          return;
        }
        let reply: FakeReply;
        try {
          reply = route(request);
        } catch (error) {
          reply = { status: 500, json: { message: `fake failed: ${String(error)}` } };
        }
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
      };
      if (latencyMs > 0) setTimeout(answer, latencyMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail(fault, options = {}) {
      faults.push({ fault, left: options.times ?? 1, ...(options.when ? { when: options.when } : {}) });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    get latencyMs() {
      return latencyMs;
    },
    set latencyMs(ms: number) {
      latencyMs = ms;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function jsonBody(request: FakeRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(request.body);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
