import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { runCli, runCliIn } from '../../helpers/cli.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const tempFile = async (name: string, text: string) => {
  const path = join(await mkdtemp(join(tmpdir(), 'keyrot-cli-')), name);
  await writeFile(path, text);
  return path;
};

describe('keyrot CLI usage', () => {
  it('prints usage with the exit codes, and exits 2 when no command is given', async () => {
    const result = await runCli();
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: keyrot <command>');
    expect(result.stdout).toMatch(/Exit codes:\n {2}0 {2}success/);
    expect((await runCli('--help')).code).toBe(0);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await runCli('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('prints a command help', async () => {
    const result = await runCli('plan', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: keyrot plan [--config FILE] [--now ISO-DATE] [--json]');
  });

  it.each([
    [
      ['rotate-everything'],
      'keyrot: unknown command "rotate-everything". Commands: plan, rotate, retire, rollback, status, respond, validate, demo. See keyrot --help.',
    ],
    [['plan', '--bogus'], `keyrot: Unknown option '--bogus'. Run "keyrot plan --help" for its options.`],
    [
      ['plan', '--now', 'next tuesday'],
      'keyrot: --now "next tuesday" is not an ISO date; use e.g. --now 2027-03-01 or --now 2027-03-01T12:00:00Z.',
    ],
    [
      ['plan', '--now', '2027-02-30'],
      'keyrot: --now "2027-02-30" is not an ISO date; use e.g. --now 2027-03-01 or --now 2027-03-01T12:00:00Z.',
    ],
    [['plan', '--strategy', 'fast'], 'keyrot: --strategy "fast" is not one of "report", "exact".'],
    [['rotate'], 'keyrot: Give either --user NAME (one or more) or --due.'],
    [['rotate', '--user', 'a', '--due'], 'keyrot: Give either --user NAME (one or more) or --due.'],
    [
      ['rotate', '--user', 'a', '--user', 'b', '--compromised'],
      'keyrot: --compromised takes exactly one --user NAME.',
    ],
    [['rotate', '--user', 'a', '--delete-old'], 'keyrot: --delete-old only applies with --compromised.'],
    [['rollback'], 'keyrot: Give the user to roll back: --user NAME.'],
    [
      ['retire', '--now', 'soon'],
      'keyrot: --now "soon" is not an ISO date; use e.g. --now 2027-03-01 or --now 2027-03-01T12:00:00Z.',
    ],
    [
      ['plan', '--config', '/nonexistent.yaml'],
      'keyrot: Cannot read config file /nonexistent.yaml: no such file. Pass an existing file with --config.',
    ],
  ])('keyrot %j exits 2 with one line saying what to do', async (argv, message) => {
    const result = await runCli(...argv);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });

  it('validate prints the effective config of a valid file', async () => {
    const path = await tempFile('ok.yaml', 'machinePath: /svc/\npolicy:\n  maxKeyAgeDays: 30\n');
    const result = await runCli('validate', '--config', path);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${path} is valid.`);
    expect(result.stdout).toContain('machinePath: /svc/');
    expect(result.stdout).toContain('maxKeyAgeDays: 30');
    expect(result.stdout).toContain('unusedKeyDays: 45');
  });

  it('validates the config file shipped with the service', async () => {
    const result = await runCliIn(repoRoot, 'validate', '--config', 'keyrot.config.yaml');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^keyrot\.config\.yaml is valid\./);
  });

  it('reads ./keyrot.config.yaml when no --config is given, as the deployed functions do, and says so', async () => {
    const dir = dirname(await tempFile('keyrot.config.yaml', 'policy:\n  maxKeyAgeDays: 33\n'));
    const result = await runCliIn(dir, 'validate');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('keyrot: using config ./keyrot.config.yaml (--config FILE picks another)\n');
    expect(result.stdout).toContain('maxKeyAgeDays: 33');
  });

  it('names KEYROT_CONFIG_FILE, not --config, when the file it points at is missing', async () => {
    vi.stubEnv('KEYROT_CONFIG_FILE', '/nope.yaml');
    try {
      const result = await runCli('validate');
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'keyrot: Cannot read config file /nope.yaml (from KEYROT_CONFIG_FILE): no such file. Point KEYROT_CONFIG_FILE at an existing file, or unset it.\n',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses machinePath "/" unless allowRootPath says it is meant', async () => {
    const root = await tempFile('root.yaml', 'machinePath: /\n');
    const refused = await runCli('validate', '--config', root);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'machinePath: "/" makes every IAM user, people included, a machine user',
    );
    const allowed = await tempFile('allowed.yaml', 'machinePath: /\nallowRootPath: true\n');
    expect((await runCli('validate', '--config', allowed)).code).toBe(0);
  });

  it('validate exits 2 naming the file, the field and what is allowed', async () => {
    const path = await tempFile('bad.yaml', 'policy:\n  maxKeyAgeDayz: 30\n');
    const result = await runCli('validate', '--config', path);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `keyrot: ${path} is not a valid keyrot config:\n  - policy.maxKeyAgeDayz: unknown field (did you mean "maxKeyAgeDays"?); allowed: maxKeyAgeDays, unusedKeyDays, deleteAfterDays, deactivateAfterDays, idleDaysBeforeDeactivate, escalateAfterDays\nSee "Configuration reference" in the README.\n`,
    );
    expect(result.stderr).not.toContain('    at ');
  });

  it('shows the stack trace only with --verbose', async () => {
    const result = await runCli('plan', '--config', '/nonexistent.yaml', '--verbose');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^keyrot: Cannot read config file/);
    expect(result.stderr).toContain('    at ');
    expect(result.stderr).toContain('Caused by: Error: ENOENT');
  });
});
