import {
  type AttachedPolicy,
  type IAMClient,
  type ManagedPolicyDetail,
  paginateGetAccountAuthorizationDetails,
  type UserDetail,
} from '@aws-sdk/client-iam';
import type { PolicyGrant, UserRecord } from './types.js';

/** A user as GetAccountAuthorizationDetails describes it: everything but keys and password. */
export type UserIdentity = Omit<UserRecord, 'hasConsolePassword' | 'keys'>;

/**
 * Reads every user with its path, tags and the policies that reach it (attached, inline, and through
 * groups, with customer-managed documents), in one paginated call: the number of calls grows with
 * list pages only, never one per user.
 */
export async function readUserIdentities(iam: IAMClient): Promise<UserIdentity[]> {
  const users: UserDetail[] = [];
  const groups = new Map<string, PolicyGrant[]>();
  const localPolicies = new Map<string, ManagedPolicyDetail>();
  const pages = paginateGetAccountAuthorizationDetails(
    { client: iam, pageSize: 1000 },
    { Filter: ['User', 'Group', 'LocalManagedPolicy'] },
  );
  const groupDetails = [];
  for await (const page of pages) {
    users.push(...(page.UserDetailList ?? []));
    groupDetails.push(...(page.GroupDetailList ?? []));
    for (const policy of page.Policies ?? []) if (policy.Arn) localPolicies.set(policy.Arn, policy);
  }
  const managed = (attached: AttachedPolicy[] | undefined, via: string): PolicyGrant[] =>
    (attached ?? []).map((policy) => managedGrant(policy, via, localPolicies));
  for (const group of groupDetails) {
    const via = `group:${group.GroupName ?? '?'}`;
    groups.set(group.GroupName ?? '', [
      ...managed(group.AttachedManagedPolicies, via),
      ...(group.GroupPolicyList ?? []).map((p) => inlineGrant(p.PolicyName, p.PolicyDocument, via)),
    ]);
  }
  return users.map((user) => ({
    userName: user.UserName ?? '',
    userId: user.UserId ?? '',
    arn: user.Arn ?? '',
    path: user.Path ?? '/',
    createdAt: user.CreateDate ?? new Date(0),
    tags: Object.fromEntries((user.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    policies: [
      ...managed(user.AttachedManagedPolicies, 'user'),
      ...(user.UserPolicyList ?? []).map((p) => inlineGrant(p.PolicyName, p.PolicyDocument, 'user')),
      ...(user.GroupList ?? []).flatMap((group) => groups.get(group) ?? []),
    ],
  }));
}

function managedGrant(
  policy: AttachedPolicy,
  via: string,
  local: Map<string, ManagedPolicyDetail>,
): PolicyGrant {
  const arn = policy.PolicyArn ?? '';
  const name = policy.PolicyName ?? arn;
  if (arn.startsWith('arn:aws:iam::aws:') || /^arn:aws[\w-]*:iam::aws:/.test(arn)) {
    return { name, arn, kind: 'aws-managed', via };
  }
  const detail = local.get(arn);
  const version =
    detail?.PolicyVersionList?.find((v) => v.IsDefaultVersion) ?? detail?.PolicyVersionList?.[0];
  const document = parsePolicyDocument(version?.Document);
  return { name, arn, kind: 'customer-managed', via, ...(document === undefined ? {} : { document }) };
}

function inlineGrant(name: string | undefined, raw: string | undefined, via: string): PolicyGrant {
  const document = parsePolicyDocument(raw);
  return { name: name ?? '?', kind: 'inline', via, ...(document === undefined ? {} : { document }) };
}

/** IAM returns policy documents URL-encoded (RFC 3986); some emulators return plain JSON. */
export function parsePolicyDocument(raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined;
  for (const candidate of [raw, safeDecode(raw)]) {
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
