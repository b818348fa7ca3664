import { createGitlab } from '../../lib/targets/adapters/gitlab.js';
import { gitlab } from '../../lib/targets/catalog.js';
import { type GitlabFake, startGitlabFake } from '../fakes/gitlab.js';
import { httpCases } from './http-cases.js';
import { contract } from './kit.js';

const TOKEN = 'glpat-contract0123456789';
let fake: GitlabFake;

contract('gitlab', () => ({
  type: gitlab,
  create: createGitlab as never,
  get options() {
    return { project: 'acme/deploy', tokenSecretId: 'keyrot-tokens/gitlab', apiUrl: fake.url };
  },
  badOptions: [
    { options: { tokenSecretId: 't' }, field: 'project' },
    { options: { project: 1, group: 2, tokenSecretId: 't' }, field: 'project' },
    { options: { project: 1, tokenSecretId: 't', masked: 'yes' }, field: 'masked' },
    { options: { project: 1, tokenSecretId: 't', accessKeyIdName: 'AWS-KEY' }, field: 'accessKeyIdName' },
    { options: { project: 1, tokenSecretId: 't', apiUrl: 'ftp://gitlab.example' }, field: 'apiUrl' },
    { options: { project: 1, tokenSecretId: 't', enviromentScope: 'prod' }, field: 'enviromentScope' },
    { options: { project: 1, tokenSecretId: 't', redeploy: { branch: 'main' } }, field: 'redeploy.branch' },
    { options: { group: 'acme', tokenSecretId: 't', redeploy: { ref: 'main' } }, field: 'redeploy.project' },
  ],
  token: TOKEN,
  deps: () => ({ fetch, readToken: async () => TOKEN }),
  holds: async () => {
    const accessKeyId = fake.variable('projects/acme/deploy', 'AWS_ACCESS_KEY_ID')?.value;
    const secretAccessKey = fake.variable('projects/acme/deploy', 'AWS_SECRET_ACCESS_KEY')?.value;
    return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  },
  fingerprints: true,
  fail: (fault, times) => fake.fail(fault, { times }),
  clearFaults: () => fake.clearFaults(),
  cases: httpCases((message) => JSON.stringify({ message })),
  setup: async () => {
    fake = await startGitlabFake({ token: TOKEN, projects: ['acme/deploy'] });
  },
  teardown: () => fake.close(),
}));
