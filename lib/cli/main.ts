import { readFileSync } from 'node:fs';
import { classifyAwsError } from '../aws/errors.js';
import { KeyrotError } from '../errors.js';
import { demoCommand, demoHelp } from './commands/demo.js';
import { planCommand, planHelp } from './commands/plan.js';
import { respondCommand, respondHelp } from './commands/respond.js';
import { retireCommand, retireHelp } from './commands/retire.js';
import { rollbackCommand, rollbackHelp } from './commands/rollback.js';
import { rotateCommand, rotateHelp } from './commands/rotate.js';
import { statusCommand, statusHelp } from './commands/status.js';
import { validateCommand, validateHelp } from './commands/validate.js';
import { type CliIo, processIo } from './io.js';

export const usage = `keyrot: keeps the access keys of AWS machine users fresh.

Usage: keyrot <command> [options]

Commands:
  plan       show every user's keys, findings and planned actions (read-only)
  rotate     rotate machine users' keys into Secrets Manager (--user NAME or --due; --compromised)
  retire     deactivate, then delete, the keys rotation replaced, once nothing uses them
  rollback   make the previous key current again when a new key breaks a consumer
  status     where each machine user stands: current key, rotation, old keys and their next step
  respond    the leak response, from a saved AWS Health exposed-credentials event
  validate   check a config file against the schema
  demo       run keyrot against a local moto emulator with a demo account

Global options: --help, --verbose (show stack traces), --version

Exit codes:
  0  success
  1  AWS or keyrot failed after retries (a bug, an outage); re-run, or re-run with --verbose
  2  bad usage or invalid config: the message names the flag or field; nothing was changed
  3  AWS unreachable, credentials missing or rejected, or permission denied; nothing was changed
  4  a rotation could not go ahead now (another is in progress, or no free key slot), or the key
     guard kept a key (in use, a rollback reserve); the message says what to do
  5  a machine user is broken (its secret gives it no working key); keyrot touched none of its
     keys; the message names the state and the command that fixes it

AWS access comes from the standard SDK chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, a role, ...).
AWS_ENDPOINT_URL points keyrot at an emulator such as moto or LocalStack.
`;

const commands: Record<string, { run: (argv: string[], io: CliIo) => Promise<number>; help: string }> = {
  plan: { run: planCommand, help: planHelp },
  rotate: { run: rotateCommand, help: rotateHelp },
  retire: { run: retireCommand, help: retireHelp },
  rollback: { run: rollbackCommand, help: rollbackHelp },
  status: { run: statusCommand, help: statusHelp },
  respond: { run: respondCommand, help: respondHelp },
  validate: { run: validateCommand, help: validateHelp },
  demo: { run: demoCommand, help: demoHelp },
};

/** Runs one CLI invocation and returns its exit code. Never throws. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = argv.includes('--verbose');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr(
      `keyrot: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}. See keyrot --help.\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (raw) {
    const error = classifyAwsError(raw);
    if (error instanceof KeyrotError) {
      io.stderr(`keyrot: ${error.message}\n`);
    } else {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      io.stderr(`keyrot: ${name} failed: ${message}. Re-run with --verbose for details.\n`);
    }
    if (verbose) io.stderr(`${describeStack(raw)}\n`);
    return error instanceof KeyrotError ? error.exitCode : 1;
  }
}

function describeStack(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.stack ?? `${current.name}: ${current.message}`);
    current = current.cause;
  }
  return parts.join('\nCaused by: ');
}

/** The version in keyrot's package.json, found by walking up from this file (source or dist). */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'keyrot' && pkg.version) return pkg.version;
    } catch {
      // not here; look one folder up
    }
  }
  return 'unknown';
}
