import type { AwsClients } from '../../../lib/aws/clients.js';
import { InjectedCrash } from '../crash.js';

/**
 * Crash injection for keyrot run through its real entry points. The chaos test replaces
 * `createClients` (vi.mock) with one that passes every client it builds through `withFaults`, so the
 * CLI's own clients obey the plan below. Armed with `k`, the k-th AWS call takes effect (its answer
 * comes back) and then the "process dies": that call and every later one throw InjectedCrash, so
 * nothing after the k-th call reaches AWS, whatever the code catches.
 */
interface FaultState {
  crashAfter: number | undefined;
  calls: string[];
  crashed: boolean;
}

const state: FaultState = { crashAfter: undefined, calls: [], crashed: false };

export function armCrash(afterCalls: number): void {
  state.crashAfter = afterCalls;
  state.calls = [];
  state.crashed = false;
}

/** Disarms the plan and says what happened while it was armed. */
export function disarm(): { calls: string[]; crashed: boolean } {
  const seen = { calls: state.calls, crashed: state.crashed };
  state.crashAfter = undefined;
  state.calls = [];
  state.crashed = false;
  return seen;
}

interface Stack {
  middlewareStack: {
    add(mw: unknown, options: { step: 'initialize'; name: string; priority: 'high' }): void;
  };
}

function addFaults(client: Stack, service: string): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const operation = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
        if (state.crashed) throw new InjectedCrash(`${operation} (the process is already dead)`);
        const count = () => {
          if (state.crashAfter === undefined) return;
          state.calls.push(operation);
          if (state.calls.length >= state.crashAfter) {
            state.crashed = true;
            throw new InjectedCrash(operation);
          }
        };
        let result: unknown;
        try {
          result = await next(args);
        } catch (error) {
          count();
          throw error;
        }
        count();
        return result;
      },
    { step: 'initialize', name: 'chaosFaults', priority: 'high' },
  );
}

/** The same clients, each call going through the fault plan. */
export function withFaults(clients: AwsClients): AwsClients {
  addFaults(clients.iam as unknown as Stack, 'iam');
  addFaults(clients.secrets as unknown as Stack, 'secretsmanager');
  addFaults(clients.sts as unknown as Stack, 'sts');
  const stsWith: AwsClients['stsWith'] = (credentials) => {
    const sts = clients.stsWith(credentials);
    addFaults(sts as unknown as Stack, 'sts');
    return sts;
  };
  return { ...clients, stsWith };
}
