import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { useOrStartEmulator } from '../../lib/testbed/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}

/**
 * Starts moto once for the integration run (or uses AWS_ENDPOINT_URL when it already points at an
 * emulator) and stops it at the end. A missing moto_server fails the run with the install command.
 * moto loads test/helpers/moto-scoped-auth: with request authentication on (emulator-per-file.ts),
 * it refuses keys that are Inactive and checks policies as IAM does. An emulator given by
 * AWS_ENDPOINT_URL must be a moto_server started with that directory on PYTHONPATH.
 */
export default async function setup(project: TestProject) {
  const emulator = await useOrStartEmulator({
    pythonPath: fileURLToPath(new URL('./moto-scoped-auth', import.meta.url)),
  });
  project.provide('awsEndpoint', emulator.endpoint);
  return () => emulator.stop();
}
