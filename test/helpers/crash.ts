import { type AwsClients, createClients } from '../../lib/aws/clients.js';

/** Thrown by the crash middleware: stands for the process dying right after an AWS call. */
export class InjectedCrash extends Error {
  constructor(readonly operation: string) {
    super(`injected crash after ${operation}`);
    this.name = 'InjectedCrash';
  }
}

interface Stack {
  middlewareStack: {
    add(mw: unknown, options: { step: 'initialize'; name: string; priority: 'high' }): void;
  };
}

/**
 * New clients that "crash" right after their Nth AWS call has taken effect (its response received),
 * recording every call made. N = Infinity never crashes (a clean run, to count the calls).
 */
export function crashAfterCall(n: number): { clients: AwsClients; calls: string[] } {
  const clients = createClients();
  const calls: string[] = [];
  const add = (client: Stack, service: string) =>
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const result = await next(args);
          const operation = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
          calls.push(operation);
          if (calls.length === n) throw new InjectedCrash(operation);
          return result;
        },
      { step: 'initialize', name: 'injectCrash', priority: 'high' },
    );
  add(clients.iam as unknown as Stack, 'iam');
  add(clients.secrets as unknown as Stack, 'secretsmanager');
  const stsWith: AwsClients['stsWith'] = (credentials) => {
    const sts = clients.stsWith(credentials);
    add(sts as unknown as Stack, 'sts');
    return sts;
  };
  return { clients: { ...clients, stsWith }, calls };
}
