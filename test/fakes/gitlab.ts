/**
 * A fake of GitLab's REST API v4 for CI/CD variables of projects and groups, from GitLab's
 * documentation: `PRIVATE-TOKEN` auth, variables keyed by key and environment scope, `filter[environment_scope]`,
 * 409 when a key is ambiguous without the filter, 400 "has already been taken" on a duplicate create,
 * masked-value validation, and GitLab's error bodies; and "Create a new pipeline" (POST
 * /projects/:id/pipeline: `ref` required and existing, `variables` as key/value/variable_type
 * objects, 201 with the pipeline).
 */
import { type FakeReply, type FakeRequest, type FakeServer, jsonBody, startFakeServer } from './server.js';

interface Variable {
  key: string;
  value: string;
  environment_scope: string;
  masked: boolean;
  protected: boolean;
  variable_type: string;
}

export interface FakePipeline {
  id: number;
  project: string;
  ref: string;
  variables: Array<{ key: string; value: string; variable_type: string }>;
}

export interface GitlabFake extends FakeServer {
  /** Every pipeline created, in order. */
  pipelines: FakePipeline[];
  /** A variable's value: owner `projects/<id or path>` or `groups/<id or path>`. */
  variable(owner: string, key: string, scope?: string): Variable | undefined;
  seed(owner: string, variable: Partial<Variable> & { key: string; value: string }): void;
}

const MASKABLE = /^[A-Za-z0-9+/=@:.~_-]{8,}$/;

export async function startGitlabFake(options: {
  token: string;
  projects: string[];
  groups?: string[];
  /** Branches and tags by project; `main` when not given. */
  refs?: Record<string, string[]>;
}): Promise<GitlabFake> {
  const pipelines: FakePipeline[] = [];
  const owners = new Map<string, Variable[]>();
  for (const p of options.projects) owners.set(`projects/${p}`, []);
  for (const g of options.groups ?? []) owners.set(`groups/${g}`, []);
  const notFound = (what: string): FakeReply => ({ status: 404, json: { message: `404 ${what} Not Found` } });

  const route = (r: FakeRequest): FakeReply => {
    if (r.headers['private-token'] !== options.token)
      return { status: 401, json: { message: '401 Unauthorized' } };
    const parts = r.path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts[1] === 'v4' && parts[2] === 'projects' && parts[4] === 'pipeline')
      return createPipeline(r, decodeURIComponent(parts[3] ?? ''));
    // /api/v4/<projects|groups>/<id>/variables[/<key>]
    if (parts[0] !== 'api' || parts[1] !== 'v4' || parts[4] !== 'variables') return notFound('Resource');
    const owner = `${parts[2]}/${decodeURIComponent(parts[3] ?? '')}`;
    const variables = owners.get(owner);
    if (variables === undefined) return notFound(parts[2] === 'projects' ? 'Project' : 'Group');
    const key = parts[5] === undefined ? undefined : decodeURIComponent(parts[5]);
    const filter = r.query.get('filter[environment_scope]');
    const matching = (k: string) =>
      variables.filter((v) => v.key === k && (filter === null || v.environment_scope === filter));
    const one = (k: string): Variable | FakeReply => {
      const found = matching(k);
      if (found.length > 1)
        return {
          status: 409,
          json: {
            message:
              "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
          },
        };
      return found[0] ?? notFound('Variable');
    };
    const invalidMasked = (v: Variable) => v.masked && !MASKABLE.test(v.value);

    if (key !== undefined && r.method === 'GET') {
      const found = one(key);
      return 'status' in found ? found : { status: 200, json: found };
    }
    if (key !== undefined && r.method === 'PUT') {
      const found = one(key);
      if ('status' in found) return found;
      const body = jsonBody(r);
      const updated: Variable = {
        ...found,
        value: String(body.value ?? found.value),
        ...(typeof body.masked === 'boolean' ? { masked: body.masked } : {}),
        ...(typeof body.protected === 'boolean' ? { protected: body.protected } : {}),
      };
      if (invalidMasked(updated)) return { status: 400, json: { message: { value: ['is invalid'] } } };
      Object.assign(found, updated);
      return { status: 200, json: found };
    }
    if (key === undefined && r.method === 'POST') {
      const body = jsonBody(r);
      const variable: Variable = {
        key: String(body.key),
        value: String(body.value),
        environment_scope: typeof body.environment_scope === 'string' ? body.environment_scope : '*',
        masked: body.masked === true,
        protected: body.protected === true,
        variable_type: typeof body.variable_type === 'string' ? body.variable_type : 'env_var',
      };
      if (variables.some((v) => v.key === variable.key && v.environment_scope === variable.environment_scope))
        return { status: 400, json: { message: { key: [`(${variable.key}) has already been taken`] } } };
      if (invalidMasked(variable)) return { status: 400, json: { message: { value: ['is invalid'] } } };
      variables.push(variable);
      return { status: 201, json: variable };
    }
    return notFound('Resource');
  };
  function createPipeline(r: FakeRequest, project: string): FakeReply {
    if (r.method !== 'POST') return notFound('Resource');
    if (!owners.has(`projects/${project}`)) return notFound('Project');
    const body = jsonBody(r);
    const ref = typeof body.ref === 'string' ? body.ref : r.query.get('ref');
    if (!ref) return { status: 400, json: { error: 'ref is missing' } };
    if (!(options.refs?.[project] ?? ['main']).includes(ref))
      return { status: 400, json: { message: { base: ['Reference not found'] } } };
    const variables = body.variables ?? [];
    if (
      !Array.isArray(variables) ||
      variables.some(
        (v: { key?: unknown; value?: unknown; variable_type?: unknown }) =>
          typeof v?.key !== 'string' ||
          typeof v.value !== 'string' ||
          !['env_var', 'file', undefined].includes(v.variable_type as string | undefined),
      )
    )
      return { status: 400, json: { error: 'variables is invalid' } };
    const pipeline: FakePipeline = { id: 1000 + pipelines.length, project, ref, variables };
    pipelines.push(pipeline);
    return {
      status: 201,
      json: {
        id: pipeline.id,
        iid: pipelines.length,
        ref,
        sha: 'a91957a858320c0e17f3a0eca7cfacbff50ea29a',
        status: 'created',
        source: 'api',
        web_url: `https://gitlab.example.com/${project}/-/pipelines/${pipeline.id}`,
      },
    };
  }
  const server = await startFakeServer(route);
  return Object.assign(server, {
    pipelines,
    variable: (owner: string, key: string, scope = '*') =>
      owners.get(owner)?.find((v) => v.key === key && v.environment_scope === scope),
    seed: (owner: string, v: Partial<Variable> & { key: string; value: string }) => {
      owners
        .get(owner)
        ?.push({ environment_scope: '*', masked: false, protected: false, variable_type: 'env_var', ...v });
    },
  });
}
