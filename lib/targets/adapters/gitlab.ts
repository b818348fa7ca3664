import type { GitlabOptions } from '../catalog.js';
import { TargetFailure } from '../failure.js';
import { type HttpScope, httpCall, readVariableValue } from '../http.js';
import type { CreateTarget, Fingerprint, Target } from '../port.js';

/**
 * GitLab CI/CD variables of a project or group, per GitLab's REST API (v4). Each variable is updated
 * with PUT and `filter[environment_scope]` (without it, a key that exists in several scopes is
 * ambiguous and GitLab answers 409); a 404 creates it with POST; a POST that finds the key "has
 * already been taken" (another run created it meanwhile) updates it. The key id variable is written
 * last and read back as the fingerprint: an access key id is not a secret.
 */
export const createGitlab: CreateTarget<GitlabOptions> = (name, options, deps) => {
  const api = `${options.apiUrl.replace(/\/+$/, '')}/api/v4`;
  const owner = options.project !== undefined ? ('projects' as const) : ('groups' as const);
  const id = encodeURIComponent(String(options.project ?? options.group));
  const base = `${api}/${owner}/${id}/variables`;
  const scopeLabel = `${owner === 'projects' ? 'project' : 'group'} ${String(options.project ?? options.group)}`;
  const label = `gitlab target "${name}"`;
  const filter = `filter%5Benvironment_scope%5D=${encodeURIComponent(options.environmentScope)}`;
  const fixes = {
    unauthorized: `the token in ${options.tokenSecretId} is invalid, revoked or expired: store a valid token there`,
    forbidden: `the token in ${options.tokenSecretId} may not manage CI/CD variables of ${scopeLabel}: it needs the api scope and the Maintainer role (Owner for a group)`,
    'not-found': `${scopeLabel} was not found, or the token in ${options.tokenSecretId} can't see it: check the target options`,
    invalid: `GitLab refused the variable: check the names, environmentScope, and that a masked value is allowed`,
    conflict: `GitLab found several variables for this key: check environmentScope`,
  };
  const scopeFor = (secrets: readonly string[]): HttpScope => ({
    deps,
    label,
    fixes,
    secrets,
    quoteBodies: true,
  });
  const headers = async () => ({ 'private-token': await deps.readToken(options.tokenSecretId) });

  const write = async (http: HttpScope, key: string, value: string) => {
    const h = await headers();
    const body = {
      value,
      masked: options.masked,
      protected: options.protected,
      environment_scope: options.environmentScope,
      variable_type: 'env_var',
    };
    const updated = await httpCall(http, {
      method: 'PUT',
      url: `${base}/${encodeURIComponent(key)}?${filter}`,
      headers: h,
      json: body,
      accept: [404],
    });
    if (updated.status !== 404) return;
    // GitLab says which thing is missing: only a missing variable is created; a missing project is not.
    if (!/Variable Not Found/i.test(updated.text))
      throw new TargetFailure(
        'not-found',
        `${label}: HTTP 404 on PUT ${new URL(base).pathname}/${key}: ${fixes['not-found']}`,
        { status: 404 },
      );
    const created = await httpCall(http, {
      method: 'POST',
      url: base,
      headers: h,
      json: { key, ...body },
      accept: [400],
    });
    if (created.status === 400) {
      if (!/has already been taken/.test(created.text))
        throw new TargetFailure(
          'invalid',
          `${label}: HTTP 400 on POST ${new URL(base).pathname}: ${fixes.invalid}`,
          {
            status: 400,
          },
        );
      await httpCall(http, {
        method: 'PUT',
        url: `${base}/${encodeURIComponent(key)}?${filter}`,
        headers: h,
        json: body,
      });
    }
  };

  const readKeyId = async (): Promise<string | undefined> => {
    const token = await deps.readToken(options.tokenSecretId);
    return readVariableValue(
      scopeFor([token]),
      `${base}/${encodeURIComponent(options.accessKeyIdName)}?${filter}`,
      await headers(),
    );
  };

  /**
   * A new pipeline: POST /projects/:id/pipeline with the ref (and variables); GitLab answers 201. The
   * token needs the api scope and at least the Developer role on the project.
   */
  const settings = options.redeploy;
  const redeploy = settings
    ? async () => {
        const project = String(settings.project ?? options.project);
        const token = await deps.readToken(options.tokenSecretId);
        await httpCall(
          {
            deps,
            label: `${label} (redeploy)`,
            fixes: {
              unauthorized: fixes.unauthorized,
              forbidden: `the token in ${options.tokenSecretId} may not run pipelines of project ${project}: it needs the api scope and at least the Developer role`,
              'not-found': `project ${project} was not found, or the token in ${options.tokenSecretId} can't see it: check redeploy.project`,
              invalid: `GitLab refused the pipeline: ref ${settings.ref} must exist and the project's CI configuration must create jobs for it`,
            },
            secrets: [token],
            quoteBodies: true,
          },
          {
            method: 'POST',
            url: `${api}/projects/${encodeURIComponent(project)}/pipeline`,
            headers: await headers(),
            json: {
              ref: settings.ref,
              ...(settings.variables
                ? {
                    variables: Object.entries(settings.variables).map(([key, value]) => ({
                      key,
                      value,
                      variable_type: 'env_var',
                    })),
                  }
                : {}),
            },
          },
        );
      }
    : undefined;

  const target: Target = {
    type: 'gitlab',
    name,
    async push(credential) {
      const token = await deps.readToken(options.tokenSecretId);
      const http = scopeFor([token, credential.secretAccessKey]);
      await write(http, options.secretAccessKeyName, credential.secretAccessKey);
      await write(http, options.accessKeyIdName, credential.accessKeyId);
      return { outcome: 'pushed' };
    },
    async verify(credential) {
      const held = await readKeyId();
      if (held !== credential.accessKeyId)
        throw new TargetFailure(
          'conflict',
          `${label}: variable ${options.accessKeyIdName} of ${scopeLabel} (scope ${options.environmentScope}) names ${held ?? 'no key'}, not the new key ${credential.accessKeyId}: the rotation pushes again when retried`,
        );
    },
    async fingerprint(): Promise<Fingerprint> {
      const held = await readKeyId();
      return held === undefined ? { state: 'absent' } : { state: 'holds', accessKeyId: held };
    },
    ...(redeploy ? { redeploy } : {}),
    describe: () => ({
      type: 'gitlab',
      name,
      scope: scopeLabel,
      apiUrl: options.apiUrl,
      variables: `${options.accessKeyIdName}, ${options.secretAccessKeyName}`,
      environmentScope: options.environmentScope,
      masked: options.masked,
      protected: options.protected,
      tokenSecretId: options.tokenSecretId,
      ...(settings
        ? {
            redeploy: `pipeline on ${settings.ref} of project ${String(settings.project ?? options.project)}`,
          }
        : {}),
    }),
  };
  return target;
};
