import { describe, expect, it } from 'vitest';
import type { PolicyGrant } from '../../../lib/inventory/types.js';
import { adminGrants, documentIsAdmin } from '../../../lib/policy/privilege.js';

const allow = (statement: Record<string, unknown>) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', ...statement }],
});

describe('documentIsAdmin', () => {
  it.each([
    ['Action * on *', allow({ Action: '*', Resource: '*' }), true],
    ['iam:* on *', allow({ Action: ['s3:GetObject', 'IAM:*'], Resource: ['*'] }), true],
    ['*:* on *', allow({ Action: '*:*', Resource: '*' }), true],
    ['NotAction on *', allow({ NotAction: 'iam:*', Resource: '*' }), true],
    ['* on NotResource', allow({ Action: '*', NotResource: 'arn:aws:s3:::x' }), true],
    ['* on one bucket', allow({ Action: '*', Resource: 'arn:aws:s3:::logs/*' }), false],
    ['s3:* on *', allow({ Action: 's3:*', Resource: '*' }), false],
    ['Deny * on *', { Statement: { Effect: 'Deny', Action: '*', Resource: '*' } }, false],
    ['a single statement object', { Statement: { Effect: 'Allow', Action: '*', Resource: '*' } }, true],
    ['no statements', { Version: '2012-10-17' }, false],
    ['a non-object statement', { Statement: ['x'] }, false],
    ['a non-string action', allow({ Action: [42], Resource: '*' }), false],
    ['not an object', 'Allow everything', false],
    ['an array', [], false],
    ['null', null, false],
  ])('%s -> %s', (_name, document, expected) => {
    expect(documentIsAdmin(document)).toBe(expected);
  });
});

describe('adminGrants', () => {
  it('judges AWS-managed policies by name and others by their document', () => {
    const grants: PolicyGrant[] = [
      { name: 'AdministratorAccess', kind: 'aws-managed', via: 'user' },
      { name: 'ReadOnlyAccess', kind: 'aws-managed', via: 'user' },
      { name: 'IAMFullAccess', kind: 'aws-managed', via: 'group:ops' },
      {
        name: 'deploy',
        kind: 'customer-managed',
        via: 'user',
        document: allow({ Action: 's3:PutObject', Resource: '*' }),
      },
      { name: 'god', kind: 'inline', via: 'user', document: allow({ Action: '*', Resource: '*' }) },
      { name: 'unknown', kind: 'inline', via: 'user' },
    ];
    expect(adminGrants(grants).map((g) => g.name)).toEqual(['AdministratorAccess', 'IAMFullAccess', 'god']);
  });
});
