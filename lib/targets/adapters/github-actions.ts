import type { GithubActionsOptions } from '../catalog.js';
import { TargetFailure } from '../failure.js';
import { type HttpScope, httpCall, parseJson, readVariableValue } from '../http.js';
import type { CreateTarget, Fingerprint, PushedCredential, Target } from '../port.js';
import { sealForGitHub } from '../sealed-box.js';

/**
 * GitHub Actions secrets, per GitHub's REST API (2022-11-28): the scope's public key, each secret
 * sealed with it (a libsodium sealed box) and PUT, then the key id written to an Actions variable, the
 * fingerprint drift is read from. A repository-scoped push is 4 calls (5 the first time, when the
 * variable is created).
 */
export const createGithubActions: CreateTarget<GithubActionsOptions> = (name, options, deps) => {
  const api = options.apiUrl.replace(/\/+$/, '');
  const enc = encodeURIComponent;
  const scope = options.organization
    ? {
        kind: 'organization' as const,
        base: `${api}/orgs/${enc(options.organization)}/actions`,
        label: `organization ${options.organization}`,
      }
    : options.environment
      ? {
          kind: 'environment' as const,
          base: `${api}/repos/${repoPath(options.repository)}/environments/${enc(options.environment)}`,
          label: `environment ${options.environment} of ${options.repository}`,
        }
      : {
          kind: 'repository' as const,
          base: `${api}/repos/${repoPath(options.repository)}/actions`,
          label: `repository ${options.repository}`,
        };
  const label = `github-actions target "${name}"`;
  const fixes = {
    unauthorized: `the token in ${options.tokenSecretId} is invalid or expired: store a valid token there`,
    forbidden: `the token in ${options.tokenSecretId} may not write there: give it Secrets and Variables read and write on ${scope.label}`,
    'not-found': `${scope.label} was not found, or the token in ${options.tokenSecretId} can't see it: check the target options and the token's access`,
    invalid: `GitHub refused the request: check the target options (names, visibility, selectedRepositoryIds)`,
  };
  /** Key ids this object saw GitHub accept in full (both secrets and the variable) in this process. */
  const acknowledged = new Set<string>();

  const scopeFor = (secrets: readonly string[]): HttpScope => ({
    deps,
    label,
    fixes,
    secrets,
    quoteBodies: true,
  });
  const headers = async () => ({
    authorization: `Bearer ${await deps.readToken(options.tokenSecretId)}`,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'keyrot',
  });

  const readVariable = async (): Promise<string | undefined> => {
    const token = await deps.readToken(options.tokenSecretId);
    return readVariableValue(
      scopeFor([token]),
      `${scope.base}/variables/${enc(options.fingerprintVariable)}`,
      await headers(),
    );
  };

  /**
   * workflow_dispatch: POST .../actions/workflows/{workflow}/dispatches with the ref (and inputs);
   * GitHub answers 204. The workflow must have a `workflow_dispatch` trigger, and the token Actions
   * write on the repository.
   */
  const settings = options.redeploy;
  const redeploy = settings
    ? async () => {
        const repository = settings.repository ?? options.repository;
        const token = await deps.readToken(options.tokenSecretId);
        const where = `workflow ${settings.workflow} of ${repository}`;
        await httpCall(
          {
            deps,
            label: `${label} (redeploy)`,
            fixes: {
              unauthorized: fixes.unauthorized,
              forbidden: `the token in ${options.tokenSecretId} may not run workflows: give it Actions read and write on ${repository}`,
              'not-found': `${where} was not found, or the token in ${options.tokenSecretId} can't see it: check redeploy.workflow and redeploy.repository`,
              invalid: `GitHub refused to run ${where}: it needs a workflow_dispatch trigger, ref ${settings.ref} must exist, and redeploy.inputs must match the workflow's inputs`,
            },
            secrets: [token],
            quoteBodies: true,
          },
          {
            method: 'POST',
            url: `${api}/repos/${repoPath(repository)}/actions/workflows/${enc(settings.workflow)}/dispatches`,
            headers: await headers(),
            json: { ref: settings.ref, ...(settings.inputs ? { inputs: settings.inputs } : {}) },
          },
        );
      }
    : undefined;

  const target: Target = {
    type: 'github-actions',
    name,
    async push(credential: PushedCredential) {
      const token = await deps.readToken(options.tokenSecretId);
      const http = scopeFor([token, credential.secretAccessKey]);
      const h = await headers();
      const keyAnswer = await httpCall(http, {
        method: 'GET',
        url: `${scope.base}/secrets/public-key`,
        headers: h,
      });
      const publicKey = parseJson(http, keyAnswer, 'the public key') as { key_id?: unknown; key?: unknown };
      if (typeof publicKey.key_id !== 'string' || typeof publicKey.key !== 'string')
        throw new TargetFailure(
          'bad-response',
          `${label}: GitHub's public key answer has no key_id and key: check apiUrl`,
        );
      const { key_id: keyId, key } = publicKey;

      let visibility: Record<string, unknown> = {};
      if (scope.kind === 'organization') {
        let chosen = options.visibility;
        if (chosen === undefined) {
          // Keep what the organization secret has; a new one is private.
          const existing = await httpCall(http, {
            method: 'GET',
            url: `${scope.base}/secrets/${enc(options.secretAccessKeyName)}`,
            headers: h,
            accept: [404],
          });
          const parsed =
            existing.status === 404
              ? {}
              : (parseJson(http, existing, 'the secret') as { visibility?: unknown });
          chosen =
            parsed.visibility === 'all' || parsed.visibility === 'selected' ? parsed.visibility : 'private';
        }
        visibility = {
          visibility: chosen,
          ...(options.selectedRepositoryIds
            ? { selected_repository_ids: options.selectedRepositoryIds }
            : {}),
        };
      }
      // The secret key first, the key id second, the fingerprint last: the fingerprint never names a
      // key whose secret is not stored.
      for (const [secretName, value] of [
        [options.secretAccessKeyName, credential.secretAccessKey],
        [options.accessKeyIdName, credential.accessKeyId],
      ] as const) {
        await httpCall(http, {
          method: 'PUT',
          url: `${scope.base}/secrets/${enc(secretName)}`,
          headers: h,
          json: { encrypted_value: sealForGitHub(value, key), key_id: keyId, ...visibility },
        });
      }
      const variable = { name: options.fingerprintVariable, value: credential.accessKeyId, ...visibility };
      const updated = await httpCall(http, {
        method: 'PATCH',
        url: `${scope.base}/variables/${enc(options.fingerprintVariable)}`,
        headers: h,
        json: variable,
        accept: [404],
      });
      if (updated.status === 404) {
        const created = await httpCall(http, {
          method: 'POST',
          url: `${scope.base}/variables`,
          headers: h,
          json: variable,
          accept: [409],
        });
        // 409: another run created it in between; update it.
        if (created.status === 409)
          await httpCall(http, {
            method: 'PATCH',
            url: `${scope.base}/variables/${enc(options.fingerprintVariable)}`,
            headers: h,
            json: variable,
          });
      }
      acknowledged.add(credential.accessKeyId);
      return { outcome: 'pushed' };
    },
    async verify(credential) {
      // In the process that pushed, GitHub's answers to the writes are the proof (saves a call).
      if (acknowledged.has(credential.accessKeyId)) return;
      const held = await readVariable();
      if (held !== credential.accessKeyId)
        throw new TargetFailure(
          'conflict',
          `${label}: ${scope.label} variable ${options.fingerprintVariable} names ${held ?? 'no key'}, not the new key ${credential.accessKeyId}: the push did not land; the rotation pushes again when retried`,
        );
    },
    async fingerprint(): Promise<Fingerprint> {
      const held = await readVariable();
      return held === undefined ? { state: 'absent' } : { state: 'holds', accessKeyId: held };
    },
    ...(redeploy ? { redeploy } : {}),
    describe: () => ({
      type: 'github-actions',
      name,
      scope: scope.label,
      apiUrl: api,
      secrets: `${options.accessKeyIdName}, ${options.secretAccessKeyName}`,
      fingerprintVariable: options.fingerprintVariable,
      tokenSecretId: options.tokenSecretId,
      ...(options.redeploy
        ? {
            redeploy: `workflow ${options.redeploy.workflow} on ${options.redeploy.ref} of ${options.redeploy.repository ?? options.repository}`,
          }
        : {}),
    }),
  };
  return target;
};

function repoPath(repository: string | undefined): string {
  const [owner = '', repo = ''] = (repository ?? '').split('/');
  return `${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}
