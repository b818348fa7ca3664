/**
 * keyrot never detaches AWS's quarantine policy (or any policy): removing it is a person's decision
 * after reviewing CloudTrail. Neither a role nor the code may hold or call iam:DetachUserPolicy.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOW_LISTS } from '../../package/allow-lists.js';

const root = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('AWS quarantine policy', () => {
  it('no role of the template may detach a policy', () => {
    const template = readFileSync(join(root, 'serverless.yml'), 'utf8');
    expect(template).not.toMatch(/iam:Detach|iam:DeleteUserPolicy|iam:PutUserPolicy|iam:\*/);
    const grants = Object.values(ALLOW_LISTS).flat();
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.filter((g) => /^iam:(Detach|DeleteUserPolicy|\*)/.test(g.action))).toEqual([]);
  });

  it('no code sends a detach or a policy deletion', () => {
    const files = [...sources('lib'), ...sources('functions')];
    expect(files).toContain(join('lib', 'leak', 'respond.ts'));
    const offenders = files.filter((file) =>
      /DetachUserPolicyCommand|DeleteUserPolicyCommand|DetachRolePolicyCommand/.test(
        readFileSync(join(root, file), 'utf8'),
      ),
    );
    expect(offenders).toEqual([]);
  });
});
