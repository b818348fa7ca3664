import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import { KeyrotError } from '../errors.js';

/** A local AWS emulator: the endpoint to point SDK clients at, and how to stop it. */
export interface Emulator {
  endpoint: string;
  /** True when this process started moto and will stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

export const MOTO_INSTALL_HINT =
  "moto_server is not installed. Install it with: pip install 'moto[server]'  (Python 3.9+), or point AWS_ENDPOINT_URL at a running emulator.";

export interface StartMotoOptions {
  timeoutMs?: number;
  /**
   * A directory put first on moto's PYTHONPATH: a `sitecustomize.py` there is loaded when moto starts
   * (the least-privilege test uses one that makes moto's IAM checks resource-scoped).
   */
  pythonPath?: string;
  /**
   * Load AWS's managed IAM policies into every account (default true). Each account moto first sees
   * then pays for loading about a thousand policies; a benchmark of a hundred accounts turns it off.
   */
  managedPolicies?: boolean;
}

/**
 * Starts `moto_server` on a free loopback port (moto binds port 0 and prints the port it got, so there
 * is no race for a port), with AWS-managed IAM policies loaded. Fails with the install command when
 * moto_server is missing; never falls back to anything silently.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<Emulator> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOTO_IAM_LOAD_MANAGED_POLICIES: options.managedPolicies === false ? 'false' : 'true',
  };
  if (options.pythonPath) {
    env.PYTHONPATH = [options.pythonPath, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  }
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new KeyrotError(
          `moto_server did not start within ${options.timeoutMs ?? 30_000} ms. Output:\n${output}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new KeyrotError(MOTO_INSTALL_HINT, { cause: error }) : error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new KeyrotError(
          code === 127 ? MOTO_INSTALL_HINT : `moto_server exited with code ${code}. Output:\n${output}`,
        ),
      );
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return { endpoint, owned: true, stop: () => stopChild(child) };
}

/** Uses AWS_ENDPOINT_URL when it already points at an emulator; otherwise starts moto. */
export async function useOrStartEmulator(options: StartMotoOptions = {}): Promise<Emulator> {
  const existing = process.env.AWS_ENDPOINT_URL;
  if (existing) return { endpoint: existing, owned: false, stop: async () => {} };
  return startMoto(options);
}

const EMULATOR_ENV = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
];

/**
 * Points this process's AWS SDK at an emulator with dummy credentials, so nothing can reach a real
 * account. Returns a function that puts the environment back as it was.
 */
export function pointAwsAt(endpoint: string, credential = 'emulator'): () => void {
  const saved = Object.fromEntries(EMULATOR_ENV.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: credential,
    AWS_SECRET_ACCESS_KEY: credential,
    AWS_REGION: 'us-east-1',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * Clears the emulator's state: moto's accounts and regions (and its request authentication, which is
 * turned off), or LocalStack's state. Any other endpoint can't be reset, which is an error.
 */
export async function resetEmulator(endpoint: string): Promise<void> {
  const moto = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (moto.ok) {
    await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
    return;
  }
  const localstack = await fetch(`${endpoint}/_localstack/state/reset`, { method: 'POST' });
  if (!localstack.ok) {
    throw new KeyrotError(
      `Cannot reset the emulator at ${endpoint} (moto: HTTP ${moto.status}, LocalStack: HTTP ${localstack.status}). Point AWS_ENDPOINT_URL at moto or LocalStack, or unset it to let the tests start moto.`,
    );
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
