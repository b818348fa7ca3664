import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { expectConverged, expectKeptAndNew, keyIds } from '../helpers/rotation.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ENTRY = fileURLToPath(new URL('../../lib/cli/entry.ts', import.meta.url));
const CONFIG = join(mkdtempSync(join(tmpdir(), 'keyrot-race-')), 'keyrot.yaml');
writeFileSync(CONFIG, '{}\n');

const BARRIER = fileURLToPath(new URL('../helpers/start-barrier.ts', import.meta.url));

/**
 * Starts the CLI from source in its own process (as `keyrot ...`), held at a start barrier: `ready`
 * resolves once its modules are loaded, and it runs when `go()` is called.
 */
function keyrot(args: string[]): { ready: Promise<void>; go: () => void; done: Promise<Run> } {
  // With a config of its own: the repo's keyrot.config.yaml is not the user's (and is announced).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', BARRIER, ENTRY, ...args, '--config', CONFIG],
    { env: process.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before the barrier: ${stderr}`)));
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { ready, go: () => child.send('go'), done };
}

describe('one rotation per user at a time', () => {
  it('ten "keyrot rotate --user X" processes started at once end with one new key and no orphan', async () => {
    // Prepare
    const clients = createClients();
    const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
    const [original] = await seedUsers(clients.iam, endpoint, [
      { userName: 'raced', path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
    ]);
    const before = await keyIds(clients, 'raced');
    // Act
    const racers = Array.from({ length: 10 }, () => keyrot(['rotate', '--user', 'raced']));
    await Promise.all(racers.map((r) => r.ready)); // all loaded and waiting at the barrier
    for (const racer of racers) racer.go();
    const runs = await Promise.all(racers.map((r) => r.done));
    // Assess: one new key, stored as AWSCURRENT, working; the pre-keyrot key untouched; nothing else.
    const current = await expectConverged(
      clients,
      endpoint,
      'raced',
      'arn:aws:iam::123456789012:user/machine/raced',
      [original?.accessKeyId ?? ''],
    );
    expect((await keyIds(clients, 'raced')).map((k) => k.id).sort()).toEqual(
      [current.AccessKeyId, original?.accessKeyId].sort(),
    );
    await expectKeptAndNew(clients, 'raced', before, 'one-current');
    const succeeded = runs.filter((r) => r.code === 0);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    for (const run of succeeded)
      expect(run.stdout).toContain(`raced: new key ${current.AccessKeyId} is AWSCURRENT in keyrot/raced`);
    // The others were told a rotation is in progress, or (arriving after it finished) that there is no
    // free slot. Started together, at least one of them met the winner's rotation in progress.
    const losers = runs.filter((r) => r.code !== 0);
    expect(losers.length).toBeGreaterThanOrEqual(1);
    for (const run of losers) {
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/^keyrot: (A rotation of raced is in progress|raced has no free key slot)/);
    }
    expect(
      losers.filter((r) => /^keyrot: A rotation of raced is in progress/.test(r.stderr)).length,
    ).toBeGreaterThanOrEqual(1);
    for (const run of runs) expect(`${run.stdout}${run.stderr}`).not.toContain(current.SecretAccessKey);
  });
});
