import { createClients } from '../../aws/clients.js';
import { DAY_MS } from '../../clock.js';
import { startMoto } from '../../testbed/moto.js';
import { demoAccount, seedUsers } from '../../testbed/seed.js';
import { parseFlags } from '../args.js';
import type { CliIo } from '../io.js';
import { planCommand } from './plan.js';
import { rotateCommand } from './rotate.js';

export const demoHelp = `Usage: keyrot demo

Starts a private moto emulator on a free loopback port, creates a demo account in it (machine users
with 0, 1 and 2 keys, an inactive key, a console password, an admin-level machine user, a user with
no owner, a human user) and signs calls with some keys, then prints "keyrot plan" for today and for
100 days later, rotates the users due then into Secrets Manager, and prints the plan afterwards.
Needs moto_server (pip install 'moto[server]'). Never touches a real AWS account.
`;

/** Variables the demo sets while it runs, so it talks only to its own emulator with dummy keys. */
const DEMO_ENV = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
];

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  parseFlags('demo', argv, {});
  const emulator = await startMoto();
  const saved = Object.fromEntries(DEMO_ENV.map((name) => [name, process.env[name]]));
  try {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: emulator.endpoint,
      AWS_ACCESS_KEY_ID: 'demo',
      AWS_SECRET_ACCESS_KEY: 'demo',
      AWS_REGION: 'us-east-1',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    io.stdout(`Started moto at ${emulator.endpoint}; creating the demo account...\n`);
    const clients = createClients();
    const keys = await seedUsers(clients.iam, emulator.endpoint, demoAccount);
    io.stdout(`Created ${demoAccount.length} users and ${keys.length} access keys.\n\n== Today ==\n`);
    const today = await planCommand([], io);
    const later = new Date(Date.now() + 100 * DAY_MS).toISOString();
    io.stdout(`\n== 100 days later: keyrot plan --now ${later} ==\n`);
    const future = await planCommand(['--now', later], io);
    io.stdout(`\n== Rotate what is due then: keyrot rotate --due --now ${later} ==\n`);
    const rotated = await rotateCommand(['--due', '--now', later], io);
    io.stdout(
      '\n== After the rotation: keyrot plan --strategy exact (today) ==\nEach rotated user has a new AWSCURRENT key in keyrot/<user>; the old key stays active until it is retired.\n',
    );
    const after = await planCommand(['--strategy', 'exact'], io);
    return Math.max(today, future, rotated, after);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await emulator.stop();
  }
}
