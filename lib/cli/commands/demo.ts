import { createClients } from '../../aws/clients.js';
import { DAY_MS } from '../../clock.js';
import { pointAwsAt, startMoto } from '../../testbed/moto.js';
import { demoAccount, seedUsers } from '../../testbed/seed.js';
import { parseFlags } from '../args.js';
import type { CliIo } from '../io.js';
import { planCommand } from './plan.js';
import { retireCommand } from './retire.js';
import { rotateCommand } from './rotate.js';
import { statusCommand } from './status.js';

export const demoHelp = `Usage: keyrot demo

Starts a private moto emulator on a free loopback port, creates a demo account in it (machine users
with 0, 1 and 2 keys, an inactive key, a console password, an admin-level machine user, a user with
no owner, a human user) and signs calls with some keys, then prints "keyrot plan" for today and for
100 days later. Then it walks the due users' keys through their lifecycle with --now, printing
"keyrot status" at each stop: day 0 rotate, day 3 old keys still in use are held, day 14 old keys idle for
10 days are deactivated, day 22 they are deleted.
Needs moto_server (pip install 'moto[server]'). Never touches a real AWS account.
`;

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  parseFlags('demo', argv, {});
  const emulator = await startMoto();
  const restoreEnv = pointAwsAt(emulator.endpoint, 'demo');
  try {
    io.stdout(`Started moto at ${emulator.endpoint}; creating the demo account...\n`);
    const clients = createClients();
    const keys = await seedUsers(clients.iam, emulator.endpoint, demoAccount);
    io.stdout(`Created ${demoAccount.length} users and ${keys.length} access keys.\n\n== Today ==\n`);
    const today = await planCommand([], io);
    const later = new Date(Date.now() + 100 * DAY_MS).toISOString();
    io.stdout(`\n== 100 days later: keyrot plan --now ${later} ==\n`);
    const future = await planCommand(['--now', later], io);
    const due = ['ci-deploy', 'log-shipper', 'metrics-export', 'reporting-bot'];
    const codes = [today, future];
    // moto records key use in real time and can't backdate it, so the lifecycle's day 0 (the rotation)
    // is three days before today: the keys used while seeding were last used on day 3.
    const day = (n: number) => new Date(Date.now() + (n - 3) * DAY_MS).toISOString();
    io.stdout(
      `\n== The lifecycle of the keys due, day by day (day 0 = ${day(0).slice(0, 10)}, the day of the rotation; moto records use in real time, so today is day 3) ==\n`,
    );
    io.stdout(
      `\n-- Day 0: rotate them: keyrot rotate ${due.map((u) => `--user ${u}`).join(' ')} --now ${day(0)}\n`,
    );
    codes.push(await rotateCommand([...due.flatMap((u) => ['--user', u]), '--now', day(0)], io));
    codes.push(await statusCommand(['--now', day(0)], io));
    for (const [n, what] of [
      [3, 'the old keys used today are still in use: held and reported, not deactivated'],
      [14, 'idle for 10 days and replaced 14 days ago: deactivated'],
      [22, 'inactive for 8 days: deleted'],
    ] as const) {
      io.stdout(`\n-- Day ${n}: ${what}: keyrot retire --now ${day(n)}\n`);
      codes.push(await retireCommand(['--now', day(n)], io));
      codes.push(await statusCommand(['--now', day(n)], io));
    }
    return Math.max(...codes);
  } finally {
    restoreEnv();
    await emulator.stop();
  }
}
