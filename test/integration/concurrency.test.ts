import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { expectConverged, keyIds } from '../helpers/rotation.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ENTRY = fileURLToPath(new URL('../../lib/cli/entry.ts', import.meta.url));
const CONFIG = join(mkdtempSync(join(tmpdir(), 'keyrot-race-')), 'keyrot.yaml');
writeFileSync(CONFIG, '{}\n');

/** Runs the CLI from source in its own process (as `keyrot ...`). */
function keyrot(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // With a config of its own: the repo's keyrot.config.yaml is not the user's (and is announced).
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args, '--config', CONFIG], {
      env: process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('one rotation per user at a time', () => {
  it('ten "keyrot rotate --user X" processes started at once end with one new key and no orphan', async () => {
    // Prepare
    const clients = createClients();
    const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
    const [original] = await seedUsers(clients.iam, endpoint, [
      { userName: 'raced', path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
    ]);
    // Act
    const runs = await Promise.all(Array.from({ length: 10 }, () => keyrot(['rotate', '--user', 'raced'])));
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
    const succeeded = runs.filter((r) => r.code === 0);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    for (const run of succeeded)
      expect(run.stdout).toContain(`raced: new key ${current.AccessKeyId} is AWSCURRENT in keyrot/raced`);
    // The others were told a rotation is in progress, or (arriving after it finished) that there is no free slot.
    for (const run of runs.filter((r) => r.code !== 0)) {
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/^keyrot: (A rotation of raced is in progress|raced has no free key slot)/);
    }
    for (const run of runs) expect(`${run.stdout}${run.stderr}`).not.toContain(current.SecretAccessKey);
  });
});
