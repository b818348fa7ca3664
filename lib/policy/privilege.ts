import type { PolicyGrant } from '../inventory/types.js';

/** AWS-managed policies that give a machine user admin-level reach (IAM or everything). */
export const ADMIN_MANAGED_POLICIES: ReadonlySet<string> = new Set([
  'AdministratorAccess',
  'IAMFullAccess',
  'PowerUserAccess',
  'AWSOrganizationsFullAccess',
]);

/** Actions that are admin-level when allowed on every resource. */
const ADMIN_ACTIONS = new Set(['*', '*:*', 'iam:*']);

/**
 * The grants that make a user admin-level: an AWS-managed admin policy, or any document with an
 * Allow statement of `*`, `iam:*` or a NotAction on every resource (`*` or a NotResource).
 */
export function adminGrants(policies: readonly PolicyGrant[]): PolicyGrant[] {
  return policies.filter((grant) =>
    grant.kind === 'aws-managed' ? ADMIN_MANAGED_POLICIES.has(grant.name) : documentIsAdmin(grant.document),
  );
}

export function documentIsAdmin(document: unknown): boolean {
  if (!isRecord(document)) return false;
  const statements = asArray(document.Statement);
  return statements.some((statement) => {
    if (!isRecord(statement) || statement.Effect !== 'Allow') return false;
    const everyResource = statement.NotResource !== undefined || asArray(statement.Resource).includes('*');
    const broadAction =
      statement.NotAction !== undefined ||
      asArray(statement.Action).some(
        (action) => typeof action === 'string' && ADMIN_ACTIONS.has(action.toLowerCase()),
      );
    return everyResource && broadAction;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
