/**
 * A start barrier for CLI processes raced against each other (load it with `--import`, after tsx).
 * It loads the CLI's modules first, so start-up cost is paid before the barrier; then it tells the
 * parent it is ready over the IPC channel and waits for the parent's "go", which the parent sends
 * once every process is ready. Without an IPC channel (a normal run) it does nothing.
 */
if (process.send !== undefined) {
  await import('../../lib/cli/main.js');
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send?.('ready');
  });
  // Let the process exit when the CLI is done: the channel would keep it alive.
  process.disconnect?.();
}
