import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GenerateCredentialReportCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { reportContent } from '../helpers/credential-report.js';
import { TOKEN as VERSION_TOKEN } from '../helpers/rotation-mocks.js';

// End-to-end redaction: key material put where keyrot meets the world (the invocation payload, the
// credentials in the environment, what AWS answers, what AWS errors say) never reaches an output:
// stdout, stderr, the logger, a Lambda's thrown error (printed by the runtime) or its result.

/** A secret access key: 40 characters of the base64 alphabet. */
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz';
/** An STS session token: several hundred base64 characters. */
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjE${Buffer.from('keyrot-session-'.repeat(24)).toString('base64')}`;

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const sts = mockClient(STSClient);
const sns = mockClient(SNSClient);

/** An AWS error that quotes the request's key material in its message and carries it in its fields. */
function poisoned(name: string, status: number): Error {
  return Object.assign(
    new Error(
      `The request signed with secret ${SECRET} and session token ${SESSION_TOKEN} failed (SecretAccessKey=${SECRET})`,
    ),
    {
      name,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
      SecretAccessKey: SECRET,
      SessionToken: SESSION_TOKEN,
      Credentials: { SecretAccessKey: SECRET, SessionToken: SESSION_TOKEN },
    },
  );
}

let output: string[] = [];

function capture() {
  output = [];
  const record = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void record(args.join(' ')));
}

/** What the Lambda runtime prints of a thrown error: type, message and stack, for it and its causes. */
function printedError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause)
    parts.push(current.name, current.message, current.stack ?? '');
  return parts.join('\n');
}

function expectNoKeyMaterial(texts: string[]) {
  const all = texts.join('\n');
  // Each scenario must have produced output, or "nothing leaked" proves nothing.
  expect(all.trim()).not.toBe('');
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(SESSION_TOKEN);
  // Not even a part of the token long enough to be useful.
  expect(all).not.toContain(SESSION_TOKEN.slice(20, 80));
}

const context = {
  functionName: 'keyrot-dev-fn',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-fn',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

beforeEach(() => {
  for (const client of [iam, secrets, sts, sns]) client.reset();
  vi.resetModules();
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET);
  vi.stubEnv('AWS_SESSION_TOKEN', SESSION_TOKEN);
  capture();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function failEveryCall(name: string, status: number) {
  iam.onAnyCommand().rejects(poisoned(name, status));
  secrets.onAnyCommand().rejects(poisoned(name, status));
  sts.onAnyCommand().rejects(poisoned(name, status));
  sns.onAnyCommand().rejects(poisoned(name, status));
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const load = {
  scan: () => import('../../functions/scan.js') as Promise<{ handler: Handler }>,
  retire: () => import('../../functions/retire.js') as Promise<{ handler: Handler }>,
  rotate: () => import('../../functions/rotate.js') as Promise<{ handler: Handler }>,
  respond: () => import('../../functions/respond.js') as Promise<{ handler: Handler }>,
};

/** An AWS Health exposed-credentials event whose description quotes the leaked secret and a token. */
const healthEvent = {
  version: '0',
  id: '121345678-1234-1234-1234-123456789012',
  'detail-type': 'AWS Health Event',
  source: 'aws.health',
  account: '123456789012',
  time: '2026-11-20T06:27:57Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventArn: 'arn:aws:health:global::event/AWS_RISK_CREDENTIALS_EXPOSED_XXXXXXXXXXXXXXXXX',
    service: 'RISK',
    eventTypeCode: 'AWS_RISK_CREDENTIALS_EXPOSED',
    eventTypeCategory: 'issue',
    startTime: 'Fri, 20 Nov 2026 06:20:09 GMT',
    eventDescription: [
      {
        language: 'en_US',
        latestDescription: `Your AWS Access Key was found on GitHub with secret ${SECRET} and session token ${SESSION_TOKEN}.`,
      },
    ],
    affectedEntities: [{ entityValue: 'AKIAIOSFODNN7EXAMPLE' }],
  },
};

const handlers = [
  [
    'scan',
    'key material in the event',
    { source: 'aws.events', detail: { SecretAccessKey: SECRET, note: SESSION_TOKEN } },
  ],
  [
    'retire',
    'key material in the event',
    { source: 'aws.events', detail: { SessionToken: SESSION_TOKEN, note: SECRET } },
  ],
  [
    'rotate',
    'a createSecret request',
    { Step: 'createSecret', SecretId: 'keyrot/ci', ClientRequestToken: VERSION_TOKEN },
  ],
  [
    'rotate',
    'key material as the step and secret id',
    { Step: SECRET, SecretId: SESSION_TOKEN, ClientRequestToken: VERSION_TOKEN },
  ],
  ['respond', 'an exposure event quoting the secret', healthEvent],
] as const;

describe('Lambda handlers', () => {
  it.each([
    ...handlers.map(([fn, what, event]) => [fn, what, 'InternalFailure', 500, event] as const),
    ...handlers.map(([fn, what, event]) => [fn, what, 'AccessDeniedException', 400, event] as const),
  ])(
    '%s with %s, every AWS call failing with %s (HTTP %i): no key material in the logs or the thrown error',
    async (fn, _what, name, status, event) => {
      failEveryCall(name, status);
      const { handler } = await load[fn]();
      // Whether it fails (most do) or handles the failure (respond reports a key it may not read), what
      // it returns or throws is output too.
      const outcome = await handler(event, context).then(
        (result) => JSON.stringify(result),
        (error: unknown) => printedError(error),
      );
      expectNoKeyMaterial([...output, outcome]);
    },
  );
});

describe('Lambda handlers that log a failure and go on', () => {
  it('scan: a due user whose rotation fails to start and whose alert fails to publish, IAM answering with key material', async () => {
    vi.stubEnv('ROTATE_FUNCTION_ARN', 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate');
    vi.stubEnv('ALERT_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:keyrot-dev-alerts');
    failEveryCall('InternalFailure', 500);
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
    secrets.on(ListSecretsCommand).resolves({ SecretList: [] });
    iam.on(GetAccountAuthorizationDetailsCommand).resolves({
      UserDetailList: [
        {
          UserName: 'ci-deploy',
          Path: '/machine/',
          Arn: 'arn:aws:iam::123456789012:user/machine/ci-deploy',
          Tags: [
            { Key: 'owner', Value: SECRET },
            { Key: 'note', Value: SESSION_TOKEN },
          ],
        },
      ],
    });
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam.on(GetCredentialReportCommand).resolves({
      Content: reportContent([
        'ci-deploy,arn:aws:iam::123456789012:user/machine/ci-deploy,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2020-01-01T00:00:00+00:00,2020-02-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
      ]),
    });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [
        { AccessKeyId: 'AKIASTALE', Status: 'Active', CreateDate: new Date('2020-01-01T00:00:00Z') },
      ],
    });
    const { handler } = await load.scan();
    const outcome = await handler({ source: 'aws.events', detail: {} }, context).then(
      (result) => JSON.stringify(result),
      (error: unknown) => printedError(error),
    );
    // The failure to start the rotation was logged, with the error's text.
    expect(output.join('')).toContain('rotation not started');
    expect(output.join('')).toContain('The request signed with secret [REDACTED]');
    expectNoKeyMaterial([...output, outcome]);
  });

  it('retire: when AWS fails, the invocation fails with the error scrubbed', async () => {
    failEveryCall('InternalFailure', 500);
    iam.on(ListUsersCommand).resolves({
      Users: [
        {
          UserName: 'ci',
          Path: '/machine/',
          Arn: 'arn:aws:iam::123456789012:user/machine/ci',
          UserId: 'AIDAEXAMPLE',
          CreateDate: new Date('2020-01-01T00:00:00Z'),
        },
      ],
    });
    const { handler } = await load.retire();
    const thrown = await handler({ source: 'aws.events', detail: {} }, context).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Error);
    // Retirement reads the account first (credential report, ListSecrets): the failure surfaces there.
    expect(printedError(thrown)).toContain('The request signed with secret [REDACTED]');
    expectNoKeyMaterial([...output, printedError(thrown)]);
  });
});

const tempFile = async (name: string, text: string) => {
  const path = join(await mkdtemp(join(tmpdir(), 'keyrot-redaction-')), name);
  await writeFile(path, text);
  return path;
};

// Each command, and whether --verbose prints a stack (several users' access failures are one line
// each; their other failures end the run with a stack).
const commands: Array<[string[], boolean | undefined]> = [
  [['plan'], true],
  [['plan', '--strategy', 'exact'], true],
  [['rotate', '--user', 'ci'], true],
  [['rotate', '--user', 'ci', '--user', 'other'], undefined],
  [['rotate', '--due'], true],
  [['rotate', '--user', 'ci', '--compromised', '--delete-old'], true],
  [['retire'], true],
  [['retire', '--dry-run'], true],
  [['rollback', '--user', 'ci'], true],
  [['status'], true],
  [['respond', '--event', 'EVENT_FILE'], undefined],
];

describe('CLI commands', () => {
  it.each([
    ...commands.map(([argv, stack]) => [argv, 'InternalFailure', 500, stack] as const),
    ...commands.map(([argv, stack]) => [argv, 'AccessDenied', 403, stack] as const),
    ...commands.map(([argv, stack]) => [argv, 'ExpiredToken', 400, stack] as const),
  ])(
    'keyrot %j, every AWS call failing with %s (HTTP %i): no key material on stdout or stderr, --verbose included',
    async (argv, name, status, stack) => {
      failEveryCall(name, status);
      const plain = await runCli(...argv);
      const verbose = await runCli(...argv, '--verbose');
      expect(plain.code).not.toBe(0);
      if (stack !== undefined) expect(verbose.stderr.includes('    at ')).toBe(stack);
      expectNoKeyMaterial([plain.stdout, plain.stderr, verbose.stdout, verbose.stderr, ...output]);
    },
  );

  it('keyrot validate quotes no key material from a config that holds it', async () => {
    const path = await tempFile(
      'keyrot.yaml',
      `machinePath: ${SECRET}\nownerTag: ${SESSION_TOKEN}\nsecretPrefix: "${SECRET} ${SESSION_TOKEN}"\npolicy:\n  SecretAccessKey: ${SECRET}\n`,
    );
    const result = await runCli('validate', '--config', path, '--verbose');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('machinePath: must be an IAM path');
    expect(result.stderr).toContain('ownerTag: "[REDACTED]" is out of range');
    expectNoKeyMaterial([result.stdout, result.stderr, ...output]);
  });
});
