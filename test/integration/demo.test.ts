import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('keyrot demo', () => {
  it('seeds its own emulator and shows the plan for today and for 100 days later', async () => {
    const endpointBefore = process.env.AWS_ENDPOINT_URL;
    const result = await runCli('demo');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [, today = '', later = '', lifecycle = ''] = result.stdout.split(/^== /m);
    const [, day0 = '', day3 = '', day14 = '', day22 = ''] = lifecycle.split(/^-- /m);
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
    // Then their lifecycle: day 0 rotate, day 3 held (still used), day 14 deactivated, day 22 deleted.
    const rotated = [
      ...day0.matchAll(/^(\S+): new key (AKIA\w+) is AWSCURRENT in keyrot\/\1 \(onboarded\)$/gm),
    ];
    expect(rotated.map((m) => m[1])).toEqual(['ci-deploy', 'log-shipper', 'metrics-export', 'reporting-bot']);
    const oldKey = /ci-deploy +AKIA\w+ +0d +- +(AKIA\w+) +pre-keyrot/.exec(day0)?.[1] ?? 'missing';
    expect(day3).toMatch(new RegExp(`ci-deploy +${oldKey} +pre-keyrot +hold +still in use: last used`));
    expect(day3).toMatch(/metrics-export +AKIA\w+ +pre-keyrot +wait +replaced on/);
    expect(day14).toMatch(
      new RegExp(`ci-deploy +${oldKey} +pre-keyrot +deactivate +replaced on .* and idle`),
    );
    expect(day14).toMatch(new RegExp(`${oldKey} +pre-keyrot +Inactive .* delete in 7d`));
    expect(day22).toMatch(new RegExp(`ci-deploy +${oldKey} +pre-keyrot +delete +inactive since`));
    expect(day22).toMatch(/ci-deploy +AKIA\w+ +19d +- +- +- +- +- +- +nothing to retire/);
    expect(day22).toMatch(/legacy-etl +\(no keyrot secret\)/);
    expect(result.stdout).not.toMatch(/SecretAccessKey|[A-Za-z0-9/+]{40}/);
    expect(process.env.AWS_ENDPOINT_URL).toBe(endpointBefore);
  });
});
