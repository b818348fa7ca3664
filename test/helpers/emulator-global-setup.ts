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
 */
export default async function setup(project: TestProject) {
  const emulator = await useOrStartEmulator();
  project.provide('awsEndpoint', emulator.endpoint);
  return () => emulator.stop();
}
