/**
 * A fake of GitHub's REST API for Actions secrets and variables (API version 2022-11-28), from
 * GitHub's documentation: the repository, environment and organization endpoints for public keys,
 * secrets and variables, with GitHub's status codes and error bodies. It holds a real X25519 key pair
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

export interface GithubFake extends FakeServer {
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
}): Promise<GithubFake> {
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
    const parts = r.path.split('/').filter(Boolean).map(decodeURIComponent);
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
  const server = await startFakeServer(route);
  return Object.assign(server, {
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
