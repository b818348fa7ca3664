import { createGithubActions } from '../../lib/targets/adapters/github-actions.js';
import { githubActions } from '../../lib/targets/catalog.js';
import { type GithubFake, startGithubFake } from '../fakes/github.js';
import { httpCases } from './http-cases.js';
import { contract } from './kit.js';

const TOKEN = 'github_pat_contract_0123456789abcdef';
let fake: GithubFake;
const errorBody = (message: string) =>
  JSON.stringify({ message, documentation_url: 'https://docs.github.com/rest' });

contract('github-actions', () => ({
  type: githubActions,
  create: createGithubActions as never,
  get options() {
    return { repository: 'acme/deploy', tokenSecretId: 'keyrot-tokens/github', apiUrl: fake.url };
  },
  badOptions: [
    { options: { tokenSecretId: 'keyrot-tokens/github' }, field: 'repository' },
    { options: { repository: 'acme/deploy', organization: 'acme', tokenSecretId: 't' }, field: 'repository' },
    { options: { repository: 'acme', tokenSecretId: 't' }, field: 'repository' },
    { options: { organization: 'acme', environment: 'prod', tokenSecretId: 't' }, field: 'environment' },
    { options: { repository: 'a/b', visibility: 'all', tokenSecretId: 't' }, field: 'visibility' },
    {
      options: { organization: 'acme', visibility: 'all', selectedRepositoryIds: [1], tokenSecretId: 't' },
      field: 'selectedRepositoryIds',
    },
    { options: { repository: 'a/b', tokenSecretId: 't', apiUrl: 'http://github.example' }, field: 'apiUrl' },
    {
      options: { repository: 'a/b', tokenSecretId: 't', accessKeyIdName: 'GITHUB_KEY' },
      field: 'accessKeyIdName',
    },
    {
      options: { repository: 'a/b', tokenSecretId: 't', fingerprintVarible: 'X' },
      field: 'fingerprintVarible',
    },
    {
      options: {
        repository: 'a/b',
        tokenSecretId: 't',
        redeploy: { workflow: 'd.yml', ref: 'main', wokflow: 1 },
      },
      field: 'redeploy.wokflow',
    },
    {
      options: { repository: 'a/b', tokenSecretId: 't', redeploy: { ref: 'main' } },
      field: 'redeploy.workflow',
    },
    {
      options: { organization: 'acme', tokenSecretId: 't', redeploy: { workflow: 'd.yml', ref: 'main' } },
      field: 'redeploy.repository',
    },
  ],
  token: TOKEN,
  deps: () => ({ fetch, readToken: async () => TOKEN }),
  holds: async () => {
    const accessKeyId = fake.secret('repo:acme/deploy', 'AWS_ACCESS_KEY_ID');
    const secretAccessKey = fake.secret('repo:acme/deploy', 'AWS_SECRET_ACCESS_KEY');
    return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  },
  fingerprints: true,
  fail: (fault, times) => fake.fail(fault, { times }),
  clearFaults: () => fake.clearFaults(),
  cases: [
    ...httpCases(errorBody),
    {
      label: "GitHub's 403 with x-ratelimit-remaining: 0 and a reset time",
      fault: (echo) => ({
        status: 403,
        headers: {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3),
        },
        body: errorBody(`API rate limit exceeded ${echo}`),
      }),
      expect: { recovers: true, sleptAtLeast: 2000, sleptAtMost: 10_000 },
    },
  ],
  setup: async () => {
    fake = await startGithubFake({ token: TOKEN, repositories: ['acme/deploy'] });
  },
  teardown: () => fake.close(),
}));
