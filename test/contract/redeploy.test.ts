/**
 * The redeploy requests of the github-actions and gitlab adapters against their providers' fakes
 * (test/fakes), which validate them as the providers document: GitHub's workflow_dispatch (Bearer
 * token, API version header, `ref`, declared inputs, a workflow_dispatch trigger; 204) and GitLab's
 * "Create a new pipeline" (PRIVATE-TOKEN, an existing `ref`, key/value variables; 201). A success
 * starts exactly one run; a 4xx fails at once with what to fix; 429 and 5xx are retried as every
 * target call is (lib/targets/http.ts); no token reaches an error.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubActions } from '../../lib/targets/adapters/github-actions.js';
import { createGitlab } from '../../lib/targets/adapters/gitlab.js';
import { githubActions, gitlab, type TargetType } from '../../lib/targets/catalog.js';
import { FAILURE_CLASSES, type FailureClass, TargetFailure } from '../../lib/targets/failure.js';
import type { CreateTarget, Target, TargetDeps } from '../../lib/targets/port.js';
import { createRegistry } from '../../lib/targets/registry.js';
import { type GithubFake, startGithubFake } from '../fakes/github.js';
import { type GitlabFake, startGitlabFake } from '../fakes/gitlab.js';
import type { FakeServer, Fault } from '../fakes/server.js';

const GITHUB_TOKEN = 'github_pat_redeploy_0123456789abcdef';
const GITLAB_TOKEN = 'glpat-redeploy0123456789';

interface Provider {
  name: string;
  type: TargetType;
  create: CreateTarget<never>;
  token: string;
  fake(): FakeServer;
  /** Valid options with a redeploy (extra redeploy settings merged in). */
  options(redeploy?: Record<string, unknown>): Record<string, unknown>;
  /** The runs the provider started, as [ref, inputs or variables]. */
  runs(): Array<[string, unknown]>;
  /** Options whose redeploy the provider refuses (4xx), the class, and words the message must hold. */
  refused: Array<{
    label: string;
    redeploy: Record<string, unknown>;
    failureClass: FailureClass;
    says: RegExp;
  }>;
  /** Whether a request is the redeploy's (faults are injected there only). */
  isRedeploy(path: string): boolean;
  setup(): Promise<void>;
}

let github: GithubFake;
let gitlabFake: GitlabFake;

const providers: Provider[] = [
  {
    name: 'github-actions',
    type: githubActions,
    create: createGithubActions as CreateTarget<never>,
    token: GITHUB_TOKEN,
    fake: () => github,
    options: (redeploy = {}) => ({
      repository: 'acme/deploy',
      tokenSecretId: 'keyrot-tokens/github',
      apiUrl: github.url,
      redeploy: { workflow: 'deploy.yml', ref: 'main', inputs: { reason: 'key-rotated' }, ...redeploy },
    }),
    runs: () => github.dispatches.map((d) => [d.ref, d.inputs]),
    refused: [
      {
        label: 'a workflow without a workflow_dispatch trigger (422)',
        redeploy: { workflow: 'nightly.yml', inputs: undefined },
        failureClass: 'invalid',
        says: /HTTP 422 .*Workflow does not have 'workflow_dispatch' trigger.*needs a workflow_dispatch trigger/,
      },
      {
        label: 'a ref that does not exist (422)',
        redeploy: { ref: 'no-such-branch' },
        failureClass: 'invalid',
        says: /No ref found for: no-such-branch/,
      },
      {
        label: 'an input the workflow does not declare (422)',
        redeploy: { inputs: { colour: 'blue' } },
        failureClass: 'invalid',
        says: /Unexpected inputs provided.*redeploy\.inputs must match/,
      },
      {
        label: 'an unknown workflow (404)',
        redeploy: { workflow: 'gone.yml' },
        failureClass: 'not-found',
        says: /workflow gone\.yml of acme\/deploy was not found.*check redeploy\.workflow/,
      },
    ],
    isRedeploy: (path) => path.endsWith('/dispatches'),
    setup: async () => {
      github = await startGithubFake({
        token: GITHUB_TOKEN,
        repositories: ['acme/deploy'],
        workflows: {
          'acme/deploy': [
            { id: 161335, file: 'deploy.yml', dispatch: true, inputs: ['reason'] },
            { id: 161336, file: 'nightly.yml', dispatch: false },
          ],
        },
      });
    },
  },
  {
    name: 'gitlab',
    type: gitlab,
    create: createGitlab as CreateTarget<never>,
    token: GITLAB_TOKEN,
    fake: () => gitlabFake,
    options: (redeploy = {}) => ({
      project: 'acme/deploy',
      tokenSecretId: 'keyrot-tokens/gitlab',
      apiUrl: gitlabFake.url,
      redeploy: { ref: 'main', variables: { KEYROT_REASON: 'key-rotated' }, ...redeploy },
    }),
    runs: () => gitlabFake.pipelines.map((p) => [p.ref, p.variables]),
    refused: [
      {
        label: 'a ref that does not exist (400)',
        redeploy: { ref: 'no-such-branch' },
        failureClass: 'invalid',
        says: /HTTP 400 .*Reference not found.*ref no-such-branch must exist/,
      },
      {
        label: 'an unknown project (404)',
        redeploy: { project: 'acme/elsewhere' },
        failureClass: 'not-found',
        says: /project acme\/elsewhere was not found.*check redeploy\.project/,
      },
    ],
    isRedeploy: (path) => path.endsWith('/pipeline'),
    setup: async () => {
      gitlabFake = await startGitlabFake({
        token: GITLAB_TOKEN,
        projects: ['acme/deploy'],
      });
    },
  },
];

for (const provider of providers) {
  describe(`the ${provider.name} redeploy`, () => {
    const sleeps: number[] = [];
    const seen: string[] = [];
    const build = (options: Record<string, unknown>, token = provider.token): Target => {
      const deps: TargetDeps = {
        fetch,
        readToken: async () => token,
        clock: { now: () => new Date(), sleep: async (ms) => void sleeps.push(ms) },
        logger: { info: () => {}, warn: () => {} },
        http: { timeoutMs: 400, attempts: 3, maxWaitMs: 10_000 },
      };
      const parsed = createRegistry([provider.type]).options({
        type: provider.type.type,
        name: 'contract',
        options,
      });
      return provider.create('contract', parsed as never, deps);
    };
    const redeploy = (target: Target) =>
      (
        target.redeploy?.({ userName: 'contract-user', versionId: 'v1' }) ??
        Promise.reject(new Error('no redeploy'))
      ).then(
        () => undefined,
        (error: unknown) => error,
      );
    const runs = () => provider.runs().length;
    const isRedeploy = (r: { path: string }) => provider.isRedeploy(r.path);
    const fault = (status: number, headers: Record<string, string> = {}): Fault => ({
      status,
      headers,
      body: JSON.stringify({ message: `refused ${provider.token}` }),
    });

    beforeAll(provider.setup);
    afterAll(() => provider.fake().close());

    it('has no redeploy unless the option is set', () => {
      const { redeploy: _none, ...plain } = provider.options();
      expect(build(plain).redeploy).toBeUndefined();
      expect(build(provider.options()).describe().redeploy).toEqual(expect.any(String));
    });

    it('starts one run on the configured ref, with its inputs', async () => {
      const before = runs();
      expect(await redeploy(build(provider.options()))).toBeUndefined();
      expect(provider.runs().slice(before)).toEqual([
        provider.name === 'gitlab'
          ? ['main', [{ key: 'KEYROT_REASON', value: 'key-rotated', variable_type: 'env_var' }]]
          : ['main', { reason: 'key-rotated' }],
      ]);
    });

    for (const refused of provider.refused)
      it(`fails at once on ${refused.label}, saying what to fix`, async () => {
        sleeps.length = 0;
        const before = runs();
        const error = await redeploy(build(provider.options(refused.redeploy)));
        expect(error).toBeInstanceOf(TargetFailure);
        const failure = error as TargetFailure;
        expect([failure.failureClass, failure.retryable]).toEqual([refused.failureClass, false]);
        expect(failure.message).toMatch(refused.says);
        expect(failure.message).toContain('"contract" (redeploy)');
        expect(sleeps).toEqual([]);
        expect(runs()).toBe(before);
        seen.push(inspect(failure, { depth: 8, showHidden: true }));
      });

    it('fails at once on a token the provider rejects (401), naming the token secret', async () => {
      const error = (await redeploy(build(provider.options(), 'revoked-token'))) as TargetFailure;
      expect([error.failureClass, error.retryable]).toEqual(['unauthorized', false]);
      expect(error.message).toMatch(/the token in keyrot-tokens\/\w+ is invalid/);
    });

    it('fails at once on 403, saying which permission the token needs', async () => {
      provider.fake().fail(fault(403), { when: isRedeploy });
      const error = (await redeploy(build(provider.options()))) as TargetFailure;
      expect([error.failureClass, error.retryable]).toEqual(['forbidden', false]);
      expect(error.message).toMatch(provider.name === 'gitlab' ? /Developer role/ : /Actions read and write/);
      seen.push(inspect(error, { depth: 8, showHidden: true }));
    });

    it('retries a 429 after its Retry-After, then starts one run', async () => {
      sleeps.length = 0;
      const before = runs();
      provider.fake().fail(fault(429, { 'retry-after': '2' }), { when: isRedeploy });
      expect(await redeploy(build(provider.options()))).toBeUndefined();
      expect(sleeps).toEqual([2000]);
      expect(runs()).toBe(before + 1);
    });

    it('retries a 5xx with backoff, then starts one run', async () => {
      sleeps.length = 0;
      const before = runs();
      provider.fake().fail(fault(502), { when: isRedeploy });
      expect(await redeploy(build(provider.options()))).toBeUndefined();
      expect(sleeps).toEqual([500]);
      expect(runs()).toBe(before + 1);
    });

    it('gives up after its attempts on a 5xx that persists, as retryable', async () => {
      sleeps.length = 0;
      provider.fake().fail(fault(503), { when: isRedeploy, times: 10 });
      const error = (await redeploy(build(provider.options()))) as TargetFailure;
      provider.fake().clearFaults();
      expect([error.failureClass, error.retryable]).toEqual(['server', FAILURE_CLASSES.server]);
      expect(sleeps).toHaveLength(2);
      seen.push(inspect(error, { depth: 8, showHidden: true }));
    });

    it('never puts the token in an error or in describe()', () => {
      seen.push(JSON.stringify(build(provider.options()).describe()));
      expect(seen.length).toBeGreaterThan(2);
      for (const text of seen) expect(text).not.toContain(provider.token);
    });
  });
}
