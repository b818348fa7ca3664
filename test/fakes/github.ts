/**
 * A fake of GitHub's REST API for Actions secrets and variables (API version 2022-11-28), from
 * GitHub's documentation: the repository, environment and organization endpoints for public keys,
 * secrets and variables, with GitHub's status codes and error bodies; and "Create a workflow dispatch
 * event" (POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches: `ref` required, the
 * workflow by file name or id, a `workflow_dispatch` trigger and existing ref required, only declared
 * inputs, 204 No Content). It holds a real X25519 key pair
 * per scope and opens every sealed box it receives with libsodium's crypto_box_seal_open, so what it
 * stores is what keyrot sealed.
 */
import sodium from 'libsodium-wrappers';
import { type FakeReply, type FakeRequest, type FakeServer, jsonBody, startFakeServer } from './server.js';

interface Scope {
  keyId: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  secrets: Map<string, { value: string; visibility?: string; selected?: unknown; updatedAt: string }>;
  variables: Map<string, { value: string; visibility?: string }>;
}

/** A workflow of a repository, as the fake knows it. */
export interface FakeWorkflow {
  id: number;
  /** The file name under .github/workflows. */
  file: string;
  /** Whether it has a `workflow_dispatch` trigger. */
  dispatch: boolean;
  /** The workflow_dispatch inputs it declares. */
  inputs?: string[];
}

export interface WorkflowDispatch {
  repository: string;
  workflow: string;
  ref: string;
  inputs: Record<string, unknown>;
}

export interface GithubFake extends FakeServer {
  /** Every workflow run created through workflow_dispatch, in order. */
  dispatches: WorkflowDispatch[];
  /** The decrypted value of a secret: `repo:o/r`, `env:o/r:env` or `org:o`. */
  secret(scope: string, name: string): string | undefined;
  variable(scope: string, name: string): string | undefined;
  secretVisibility(scope: string, name: string): string | undefined;
  /** Sets a variable as if someone edited it in GitHub (drift). */
  setVariable(scope: string, name: string, value: string): void;
  /** Seeds an organization secret with a visibility, as if created in GitHub. */
  seedOrgSecret(org: string, name: string, visibility: string): void;
}

const notFound = (): FakeReply => ({
  status: 404,
  json: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
});

export async function startGithubFake(options: {
  token: string;
  repositories: string[];
  environments?: string[];
  organizations?: string[];
  /** Workflows by repository (`owner/repo`). */
  workflows?: Record<string, FakeWorkflow[]>;
  /** Branches and tags by repository; `main` when not given. */
  refs?: Record<string, string[]>;
}): Promise<GithubFake> {
  const dispatches: WorkflowDispatch[] = [];
  await sodium.ready;
  const scopes = new Map<string, Scope>();
  const newScope = (id: string) => {
    const pair = sodium.crypto_box_keypair();
    scopes.set(id, {
      keyId: `${id.length}${Math.floor(Math.random() * 1e9)}`,
      publicKey: pair.publicKey,
      privateKey: pair.privateKey,
      secrets: new Map(),
      variables: new Map(),
    });
  };
  for (const repo of options.repositories) newScope(`repo:${repo}`);
  for (const env of options.environments ?? []) newScope(`env:${env}`);
  for (const org of options.organizations ?? []) newScope(`org:${org}`);

  const route = (r: FakeRequest): FakeReply => {
    if (r.headers.authorization !== `Bearer ${options.token}`)
      return {
        status: 401,
        json: {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        },
      };
    const version = r.headers['x-github-api-version'];
    if (version !== undefined && version !== '2022-11-28')
      return {
        status: 400,
        json: { message: `API version ${String(version)} is not supported.`, status: '400' },
      };
    const parts = r.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'repos' && parts[3] === 'actions' && parts[4] === 'workflows')
      return workflowDispatch(r, `${parts[1]}/${parts[2]}`, parts[5], parts[6]);
    let scopeId: string;
    let rest: string[];
    if (parts[0] === 'repos' && parts[3] === 'actions') {
      scopeId = `repo:${parts[1]}/${parts[2]}`;
      rest = parts.slice(4);
    } else if (parts[0] === 'repos' && parts[3] === 'environments') {
      scopeId = `env:${parts[1]}/${parts[2]}:${parts[4]}`;
      rest = parts.slice(5);
    } else if (parts[0] === 'orgs' && parts[2] === 'actions') {
      scopeId = `org:${parts[1]}`;
      rest = parts.slice(3);
    } else return notFound();
    const scope = scopes.get(scopeId);
    if (scope === undefined) return notFound();
    const org = scopeId.startsWith('org:');
    const now = new Date().toISOString();
    const [kind, name] = rest;

    if (kind === 'secrets' && name === 'public-key' && r.method === 'GET')
      return {
        status: 200,
        json: { key_id: scope.keyId, key: Buffer.from(scope.publicKey).toString('base64') },
      };
    if (kind === 'secrets' && name !== undefined && r.method === 'GET') {
      const secret = scope.secrets.get(name);
      if (secret === undefined) return notFound();
      return {
        status: 200,
        json: {
          name,
          created_at: secret.updatedAt,
          updated_at: secret.updatedAt,
          ...(org ? { visibility: secret.visibility } : {}),
        },
      };
    }
    if (kind === 'secrets' && name !== undefined && r.method === 'PUT') {
      const body = jsonBody(r);
      if (typeof body.encrypted_value !== 'string' || body.key_id !== scope.keyId)
        return {
          status: 422,
          json: {
            message: 'Invalid request.\n\nkey_id does not match the public key.',
            documentation_url: 'https://docs.github.com/rest/actions/secrets',
            status: '422',
          },
        };
      if (org && !['all', 'private', 'selected'].includes(String(body.visibility)))
        return {
          status: 422,
          json: { message: 'Invalid request.\n\n"visibility" is required.', status: '422' },
        };
      let value: string;
      try {
        value = sodium.to_string(
          sodium.crypto_box_seal_open(
            sodium.from_base64(body.encrypted_value, sodium.base64_variants.ORIGINAL),
            scope.publicKey,
            scope.privateKey,
          ),
        );
      } catch {
        return {
          status: 422,
          json: { message: 'Bad request: could not decrypt the secret value.', status: '422' },
        };
      }
      const existed = scope.secrets.has(name);
      scope.secrets.set(name, {
        value,
        updatedAt: now,
        ...(org ? { visibility: String(body.visibility), selected: body.selected_repository_ids } : {}),
      });
      return { status: existed ? 204 : 201 };
    }
    if (kind === 'variables' && name !== undefined && r.method === 'GET') {
      const variable = scope.variables.get(name);
      if (variable === undefined) return notFound();
      return { status: 200, json: { name, value: variable.value, created_at: now, updated_at: now } };
    }
    if (kind === 'variables' && name !== undefined && r.method === 'PATCH') {
      if (!scope.variables.has(name)) return notFound();
      const body = jsonBody(r);
      scope.variables.set(name, {
        value: String(body.value),
        ...(org ? { visibility: String(body.visibility) } : {}),
      });
      return { status: 204 };
    }
    if (kind === 'variables' && name === undefined && r.method === 'POST') {
      const body = jsonBody(r);
      const variableName = String(body.name);
      if (scope.variables.has(variableName))
        return { status: 409, json: { message: 'Already exists - Variable already exists', status: '409' } };
      if (org && !['all', 'private', 'selected'].includes(String(body.visibility)))
        return {
          status: 422,
          json: { message: 'Invalid request.\n\n"visibility" is required.', status: '422' },
        };
      scope.variables.set(variableName, { value: String(body.value) });
      return { status: 201, json: {} };
    }
    return notFound();
  };
  const invalid = (message: string): FakeReply => ({
    status: 422,
    json: {
      message,
      documentation_url: 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event',
      status: '422',
    },
  });
  function workflowDispatch(
    r: FakeRequest,
    repository: string,
    workflowId: string | undefined,
    action: string | undefined,
  ): FakeReply {
    if (!options.repositories.includes(repository)) return notFound();
    const workflow = (options.workflows?.[repository] ?? []).find(
      (w) => w.file === workflowId || String(w.id) === workflowId,
    );
    if (workflow === undefined || action !== 'dispatches' || r.method !== 'POST') return notFound();
    const body = jsonBody(r);
    if (typeof body.ref !== 'string' || body.ref === '')
      return invalid('Invalid request.\n\n"ref" wasn\'t supplied.');
    if (!workflow.dispatch) return invalid("Workflow does not have 'workflow_dispatch' trigger");
    const refs = options.refs?.[repository] ?? ['main'];
    const ref = body.ref.replace(/^refs\/(heads|tags)\//, '');
    if (!refs.includes(ref)) return invalid(`No ref found for: ${body.ref}`);
    const inputs = (body.inputs ?? {}) as Record<string, unknown>;
    if (typeof inputs !== 'object' || Array.isArray(inputs))
      return invalid("Invalid request.\n\nFor 'properties/inputs', is not an object.");
    const unexpected = Object.keys(inputs).filter((k) => !(workflow.inputs ?? []).includes(k));
    if (unexpected.length > 0) return invalid(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    dispatches.push({ repository, workflow: workflow.file, ref: body.ref, inputs });
    return { status: 204 };
  }
  const server = await startFakeServer(route);
  return Object.assign(server, {
    dispatches,
    secret: (scope: string, name: string) => scopes.get(scope)?.secrets.get(name)?.value,
    variable: (scope: string, name: string) => scopes.get(scope)?.variables.get(name)?.value,
    secretVisibility: (scope: string, name: string) => scopes.get(scope)?.secrets.get(name)?.visibility,
    setVariable: (scope: string, name: string, value: string) => {
      scopes.get(scope)?.variables.set(name, { value });
    },
    seedOrgSecret: (org: string, name: string, visibility: string) => {
      scopes
        .get(`org:${org}`)
        ?.secrets.set(name, { value: 'seeded', visibility, updatedAt: new Date().toISOString() });
    },
  });
}
