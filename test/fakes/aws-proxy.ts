/**
 * A fault-injecting proxy in front of moto, for adapters that speak AWS (aws-ssm): requests pass
 * through to moto unless a fault is queued, which answers instead with an AWS JSON-protocol error.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fault } from './server.js';

export interface AwsProxy {
  url: string;
  fail(fault: Fault, options?: { times?: number }): void;
  clearFaults(): void;
  targets: string[];
  close(): Promise<void>;
}

export async function startAwsProxy(upstream: string): Promise<AwsProxy> {
  const faults: Array<{ fault: Fault; left: number }> = [];
  const targets: string[] = [];
  const up = new URL(upstream);
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      targets.push(String(req.headers['x-amz-target'] ?? ''));
      const queued = faults.find((f) => f.left > 0);
      if (queued) {
        queued.left--;
        if (queued.fault === 'hang') {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.writeHead(queued.fault.status, {
          'content-type': 'application/x-amz-json-1.1',
          ...queued.fault.headers,
        });
        res.end(queued.fault.body ?? '');
        return;
      }
      const forward = request(
        { host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    fail: (fault, options = {}) => faults.push({ fault, left: options.times ?? 1 }),
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
