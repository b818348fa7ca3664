import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('keyrot demo', () => {
  it('seeds its own emulator and shows the plan for today and for 100 days later', async () => {
    const endpointBefore = process.env.AWS_ENDPOINT_URL;
    const result = await runCli('demo');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [, today = '', later = '', rotation = '', after = ''] = result.stdout.split(/^== /m);
    expect(result.stdout).toMatch(/^Started moto at http:\/\/127\.0\.0\.1:\d+; creating the demo account/);
    expect(result.stdout).toContain('Created 7 users and 8 access keys.');
    // Today nothing is due: only risks are reported.
    expect(today).toContain('Planned: 0 rotate, 0 delete,');
    expect(today).toMatch(/reporting-bot +- +- +- +- +console-password +report/);
    expect(today).toMatch(/reporting-bot +- +- +- +- +admin-policy +report/);
    // 100 days on, the stale machine-user keys rotate, the old inactive key goes, the human is only reported.
    expect(later).toMatch(/^100 days later: keyrot plan --now \d{4}-/);
    expect(later).toContain('Planned: 4 rotate, 1 delete,');
    expect(later).toMatch(/log-shipper +AKIA\w+ +Inactive +100d .* +delete/);
    expect(later).toMatch(/alice \(human\) .* stale-key,unused-key +report/);
    expect(later).toMatch(/legacy-etl .* rotation blocked/);
    // Then the due users are rotated into Secrets Manager, and only those.
    expect(rotation).toContain(
      '4 machine users due for rotation: ci-deploy, log-shipper, metrics-export, reporting-bot',
    );
    const newKeys = [
      ...rotation.matchAll(/^(\S+): new key (AKIA\w+) is AWSCURRENT in keyrot\/\1 \(onboarded\)$/gm),
    ];
    expect(newKeys.map((m) => m[1])).toEqual(['ci-deploy', 'log-shipper', 'metrics-export', 'reporting-bot']);
    for (const [, user, key] of newKeys) expect(after).toMatch(new RegExp(`${user} +${key} +Active +0d`));
    expect(after).toMatch(/ci-deploy +- +- +- +- +two-active-keys +report/);
    expect(result.stdout).not.toMatch(/SecretAccessKey|[A-Za-z0-9/+]{40}/);
    expect(process.env.AWS_ENDPOINT_URL).toBe(endpointBefore);
  });
});
