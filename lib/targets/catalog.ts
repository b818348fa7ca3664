/**
 * The target types keyrot knows, as option schemas only. Config validation imports this, so the
 * scan and retire bundles carry no adapter code and no crypto; only the rotate function (and the CLI)
 * import lib/targets/adapters/.
 */
import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';

/** A target type as config sees it: its name, what it does, a strict options schema. */
export interface TargetType<Options = unknown> {
  type: string;
  /** Any zod schema (zod/mini or classic); strict, so a typo in the config is an error. */
  options: $ZodType<Options>;
  /** Options that name a secret holding a token: they must lie under `targetSecretPrefix`. */
  secretOptions: readonly string[];
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** `https://`, or `http://` to a loopback address only (local fakes and tunnels). */
export function isAllowedUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
}

const httpsUrl = (fallback?: string) => {
  const url = z
    .string()
    .check(z.refine(isAllowedUrl, { error: 'must be an https:// URL (http:// only to a loopback address)' }));
  return fallback === undefined ? url : z._default(url, fallback);
};
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const secretId = () => text(512);
const githubName = (fallback: string) =>
  z._default(
    z
      .string()
      .check(
        z.regex(/^(?!GITHUB_)[A-Za-z_]\w{0,99}$/i, { error: 'must be letters, digits, _; not GITHUB_...' }),
      ),
    fallback,
  );
const gitlabName = (fallback: string) =>
  z._default(z.string().check(z.regex(/^\w{1,255}$/, { error: 'must be letters, digits, _' })), fallback);

const repositoryName = () =>
  z.string().check(z.regex(/^[\w.-]+\/[\w.-]+$/, { error: 'must be "owner/repo"' }));

/**
 * After a rotation's cut-over, run a workflow so consumers pick up the new key (workflow_dispatch).
 * `workflow`: the workflow's file name (`deploy.yml`) or id; `ref`: the branch or tag to run it on;
 * `inputs`: the workflow_dispatch inputs; `repository`: where the workflow lives (the target's
 * repository by default; required for organization secrets).
 */
const githubRedeploy = z.strictObject({
  workflow: z
    .string()
    .check(z.regex(/^([\w.-]+\.ya?ml|\d+)$/, { error: 'must be a workflow file name (deploy.yml) or id' })),
  ref: text(255),
  repository: z.optional(repositoryName()),
  inputs: z.optional(z.record(z.string().check(z.regex(/^[\w-]{1,100}$/)), z.string())),
});

export const githubActionsOptions = z
  .strictObject({
    /** `owner/repo`: repository secrets, or an environment's with `environment`. */
    repository: z.optional(repositoryName()),
    environment: z.optional(text(255)),
    /** An organization: organization secrets. */
    organization: z.optional(z.string().check(z.regex(/^[\w.-]+$/))),
    /** Unset: a new secret is `private`; an existing one keeps the visibility it has. */
    visibility: z.optional(z.enum(['all', 'private', 'selected'])),
    selectedRepositoryIds: z.optional(z.array(z.int().check(z.minimum(1)))),
    tokenSecretId: secretId(),
    apiUrl: httpsUrl('https://api.github.com'),
    accessKeyIdName: githubName('AWS_ACCESS_KEY_ID'),
    secretAccessKeyName: githubName('AWS_SECRET_ACCESS_KEY'),
    fingerprintVariable: githubName('KEYROT_ACCESS_KEY_ID'),
    redeploy: z.optional(githubRedeploy),
  })
  .check(
    z.refine((o) => (o.repository === undefined) !== (o.organization === undefined), {
      error: 'give repository or organization',
      path: ['repository'],
    }),
    z.refine((o) => o.environment === undefined || o.repository !== undefined, {
      error: 'needs repository',
      path: ['environment'],
    }),
    z.refine((o) => o.visibility === undefined || o.organization !== undefined, {
      error: 'needs organization',
      path: ['visibility'],
    }),
    z.refine((o) => o.selectedRepositoryIds === undefined || o.visibility === 'selected', {
      error: 'needs visibility: selected',
      path: ['selectedRepositoryIds'],
    }),
    z.refine((o) => o.redeploy === undefined || (o.redeploy.repository ?? o.repository) !== undefined, {
      error: 'needs repository: the repository whose workflow runs (organization secrets have none)',
      path: ['redeploy', 'repository'],
    }),
  );
export type GithubActionsOptions = z.output<typeof githubActionsOptions>;

const flag = () => z.boolean();

/** A numeric id or a full path (`group/project`). */
// A pipe rather than a union: the same check, for fewer bytes in every bundle.
const projectOrGroup = z.optional(
  z.pipe(
    z.transform((v: unknown) => (typeof v === 'number' ? String(v) : v)),
    z.string().check(z.regex(/^[\w.-]+(\/[\w.-]+)*$/, { error: 'must be an id or a path' })),
  ),
);

/**
 * After a rotation's cut-over, create a pipeline so consumers pick up the new key. `ref`: the branch
 * or tag; `variables`: pipeline variables; `project`: where the pipeline runs (the target's project
 * by default; required for group variables).
 */
const gitlabRedeploy = z.strictObject({
  ref: text(255),
  project: projectOrGroup,
  variables: z.optional(z.record(z.string().check(z.regex(/^\w{1,255}$/)), z.string())),
});

export const gitlabOptions = z
  .strictObject({
    /** A project id or its full path (`group/project`). */
    project: projectOrGroup,
    /** A group id or its full path. */
    group: projectOrGroup,
    tokenSecretId: secretId(),
    apiUrl: httpsUrl('https://gitlab.com'),
    accessKeyIdName: gitlabName('AWS_ACCESS_KEY_ID'),
    secretAccessKeyName: gitlabName('AWS_SECRET_ACCESS_KEY'),
    environmentScope: z._default(text(255), '*'),
    masked: z._default(flag(), true),
    protected: z._default(flag(), false),
    redeploy: z.optional(gitlabRedeploy),
  })
  .check(
    z.refine((o) => (o.project === undefined) !== (o.group === undefined), {
      error: 'give project or group',
      path: ['project'],
    }),
    z.refine((o) => o.redeploy === undefined || (o.redeploy.project ?? o.project) !== undefined, {
      error: 'needs project: the project whose pipeline runs (group variables have none)',
      path: ['redeploy', 'project'],
    }),
  );
export type GitlabOptions = z.output<typeof gitlabOptions>;

export const awsSsmOptions = z
  .strictObject({
    /** The prefix: parameters are <parameterName>/<accessKeyIdName>, .../<secretAccessKeyName>, ... */
    parameterName: z.string().check(z.regex(/^(\/[\w.-]+)+$/, { error: 'must be a path like /ci/deploy' })),
    kmsKeyId: z.optional(text(2048)),
    /** Another account: the role to assume there, and its external id. */
    roleArn: z.optional(z.string().check(z.regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/))),
    externalId: z.optional(z.string().check(z.regex(/^[\w+=,.@:/-]{2,1224}$/))),
    region: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/))),
  })
  .check(
    z.refine((o) => o.externalId === undefined || o.roleArn !== undefined, {
      error: 'needs roleArn',
      path: ['externalId'],
    }),
  );
export type AwsSsmOptions = z.output<typeof awsSsmOptions>;

export const webhookOptions = z.strictObject({
  url: httpsUrl(),
  /** A secret whose value is the Standard Webhooks signing secret, `whsec_<base64>`. */
  signingSecretId: secretId(),
});
export type WebhookOptions = z.output<typeof webhookOptions>;

export const githubActions: TargetType<GithubActionsOptions> = {
  type: 'github-actions',
  options: githubActionsOptions,
  secretOptions: ['tokenSecretId'],
};
export const gitlab: TargetType<GitlabOptions> = {
  type: 'gitlab',
  options: gitlabOptions,
  secretOptions: ['tokenSecretId'],
};
export const awsSsm: TargetType<AwsSsmOptions> = {
  type: 'aws-ssm',
  options: awsSsmOptions,
  secretOptions: [],
};
export const webhook: TargetType<WebhookOptions> = {
  type: 'webhook',
  options: webhookOptions,
  secretOptions: ['signingSecretId'],
};

export const catalog: readonly TargetType[] = [
  githubActions,
  gitlab,
  awsSsm,
  webhook,
] as readonly TargetType[];
