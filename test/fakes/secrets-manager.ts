/**
 * A test double of AWS Secrets Manager: a real HTTP server on 127.0.0.1 speaking Secrets Manager's
 * JSON protocol (`application/x-amz-json-1.1`, `X-Amz-Target: secretsmanager.<Operation>`), with only
 * the operations keyrot calls. It exists because moto differs from Secrets Manager where onboarding
 * depends on it (see /work/shared/notes/moto.md and the README's "keyrot on real AWS"): moto's
 * RotateSecret neither makes the empty AWSPENDING version nor invokes the rotation function.
 *
 * Written from AWS's documentation, never from moto; each behaviour names its source:
 * - [RotateSecret] Secrets Manager API reference, RotateSecret: "configures and starts the
 *   asynchronous process of rotating the secret"; a later RotateSecret while AWSPENDING is on a
 *   version other than AWSCURRENT "assumes that a previous rotation request is still in progress and
 *   returns an error"; "when rotation is unsuccessful, the AWSPENDING staging label might be attached
 *   to an empty secret version".
 * - [Describe] API reference, DescribeSecret, VersionIdsToStages: "During rotation, Secrets Manager
 *   creates an AWSPENDING version ID before creating the new secret version. To check if a secret
 *   version exists, call GetSecretValue." Versions without labels are deprecated and not listed.
 * - [How] Secrets Manager User Guide, "How rotation works" and "Rotation by Lambda function": the
 *   function is invoked with {Step, SecretId, ClientRequestToken} for createSecret, setSecret,
 *   testSecret, finishSecret; finishSecret moves AWSCURRENT and Secrets Manager adds AWSPREVIOUS to
 *   the version it left.
 * - [Template] aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRotationTemplate:
 *   the handler refuses a token that is not in VersionIdsToStages ("has no stage for rotation") and
 *   one that is not AWSPENDING; createSecret calls PutSecretValue with the event's token, so the
 *   value lands in the version RotateSecret made.
 * - [Put] API reference, PutSecretValue: same token and same value is ignored (idempotent); same
 *   token and another value fails (ResourceExistsException: a version can't be modified); without
 *   VersionStages AWSCURRENT moves to the new version; "if this operation creates the first version
 *   for the secret, then Secrets Manager automatically attaches the staging label AWSCURRENT to it";
 *   a label named in VersionStages is removed from the version that had it.
 * - [Stage] API reference, UpdateSecretVersionStage: a label is on one version at a time; if it is
 *   attached to a different version, RemoveFromVersionId must name that version "or the operation
 *   fails"; "whenever you move AWSCURRENT, Secrets Manager automatically moves the label AWSPREVIOUS
 *   to the version that AWSCURRENT was removed from".
 * - [Get] API reference, GetSecretValue: without VersionId or VersionStage it reads AWSCURRENT; a
 *   version (or stage) that has no value answers ResourceNotFoundException.
 * - [Create] API reference, CreateSecret: only "if you include SecretString or SecretBinary" is an
 *   initial version created (and it gets AWSCURRENT); an existing name is ResourceExistsException.
 * - [Tags] Secrets Manager User Guide, tag restrictions: keys up to 128, values up to 256 characters
 *   of letters, numbers, spaces and `+ - = . _ : / @`.
 *
 * Where the documentation is silent, the double makes the stricter choice and says so. It does not
 * check SigV4 signatures (moto, with authentication on, covers what IAM allows); it only requires a
 * request to be signed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type FakeReply, type FakeRequest, type FakeServer, jsonBody, startFakeServer } from './server.js';

export const CURRENT = 'AWSCURRENT';
export const PENDING = 'AWSPENDING';
export const PREVIOUS = 'AWSPREVIOUS';

/** What Secrets Manager sends the rotation function [How]. */
export interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
}

/** The rotation function: resolves when the step succeeded, rejects when it failed. */
export type RotationFunction = (event: RotationEvent) => Promise<unknown>;

const STEPS: ReadonlyArray<RotationEvent['Step']> = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
];

interface Version {
  id: string;
  /** undefined: the empty version RotateSecret makes before invoking createSecret [Describe]. */
  value?: string;
  stages: Set<string>;
  created: Date;
}

interface Secret {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Map<string, string>;
  versions: Map<string, Version>;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  automaticallyAfterDays?: number;
  created: Date;
  lastChanged: Date;
  lastRotated?: Date;
}

/** One rotation RotateSecret started: its token, and how its last run of the four steps ended. */
export interface Rotation {
  secretArn: string;
  token: string;
  /** The steps invoked, in order, across every run (first run and retries). */
  invoked: Array<RotationEvent['Step']>;
  /** Settles when the latest run ends; never rejects (see `error`). */
  done: Promise<void>;
  /** The error of the step that failed in the latest run; undefined once a run succeeded. */
  error?: unknown;
  finished: boolean;
}

/** A call the double answered, without secret values (SecretString is never recorded). */
export interface RecordedCall {
  operation: string;
  input: Record<string, unknown>;
  error?: string;
}

export interface SecretsManagerDouble {
  url: string;
  region: string;
  /** Every call, in order. */
  calls: RecordedCall[];
  /** Rotations started by RotateSecret, in order. */
  rotations: Rotation[];
  /** Waits until every started rotation's latest run has ended (success or a failed step). */
  settled(): Promise<void>;
  /**
   * Secrets Manager retrying an unfinished rotation: the four steps again, from createSecret, with the
   * same token (each step must be idempotent) [How]. Resolves when the run ends.
   */
  retry(secretId: string): Promise<Rotation>;
  /**
   * A secret's versions as the double holds them, read without a request (so it adds no call): the
   * labels of every version, deprecated ones too, and whether it has a value. Never the value.
   */
  versions(secretId: string): Record<string, { stages: string[]; hasValue: boolean }>;
  /** Faults injected below the protocol (HTTP status, or no answer), from the shared fake server. */
  server: FakeServer;
  close(): Promise<void>;
}

export interface DoubleOptions {
  /** Invoked for each step of every rotation RotateSecret starts, like the Lambda function. */
  rotationFunction: RotationFunction;
  region?: string;
  accountId?: string;
  /** The clock of version creation dates (ListSecretVersionIds CreatedDate). */
  now?: () => Date;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message = "Secrets Manager can't find the specified secret.") =>
  new ApiError('ResourceNotFoundException', message);
const invalidParameter = (message: string) => new ApiError('InvalidParameterException', message);
const invalidRequest = (message: string) => new ApiError('InvalidRequestException', message);
/** A request the service model itself rejects (lengths, ranges, patterns). */
const validation = (message: string) => new ApiError('ValidationException', message);

const epoch = (date: Date) => date.getTime() / 1000;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export async function startSecretsManagerDouble(options: DoubleOptions): Promise<SecretsManagerDouble> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const now = options.now ?? (() => new Date());
  const secrets = new Map<string, Secret>();
  const calls: RecordedCall[] = [];
  const rotations: Rotation[] = [];

  const find = (secretId: unknown): Secret => {
    if (typeof secretId !== 'string' || secretId === '') throw invalidParameter('SecretId is required.');
    const secret = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);
    if (secret === undefined) throw notFound();
    return secret;
  };
  const holder = (secret: Secret, stage: string) =>
    [...secret.versions.values()].find((v) => v.stages.has(stage));
  const stagesOf = (secret: Secret) =>
    Object.fromEntries(
      [...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]]),
    );
  const checkToken = (token: unknown): string => {
    if (typeof token !== 'string' || token.length < 32 || token.length > 64)
      throw validation('ClientRequestToken must be 32 to 64 characters long.');
    return token;
  };
  const checkTags = (tags: unknown): Array<{ Key: string; Value: string }> => {
    const list = Array.isArray(tags) ? (tags as Array<{ Key?: unknown; Value?: unknown }>) : [];
    return list.map(({ Key, Value }) => {
      if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128 || !TAG_VALUE.test(Key))
        throw validation(`Tag key ${JSON.stringify(Key)} is not allowed.`);
      if (typeof Value !== 'string' || Value.length > 256 || !TAG_VALUE.test(Value))
        throw validation(
          `The value of tag ${Key} is not allowed (at most 256 of letters, numbers, spaces and + - = . _ : / @).`,
        );
      return { Key, Value };
    });
  };
  /** Attaches `stage` to `version`, taking it from any other version; AWSCURRENT leaves AWSPREVIOUS behind [Stage]. */
  const attach = (secret: Secret, version: Version, stage: string) => {
    const from = holder(secret, stage);
    if (from === version) return;
    from?.stages.delete(stage);
    version.stages.add(stage);
    if (stage === CURRENT && from !== undefined) {
      holder(secret, PREVIOUS)?.stages.delete(PREVIOUS);
      from.stages.add(PREVIOUS);
    }
  };

  const operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    CreateSecret(input) {
      const name = input.Name;
      if (typeof name !== 'string' || !SECRET_NAME.test(name))
        throw validation(`Invalid name ${JSON.stringify(name)}: letters, digits and /_+=.@- only.`);
      if (secrets.has(name))
        throw new ApiError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      if (input.SecretBinary !== undefined) throw invalidRequest('The double stores SecretString only.');
      const tags = checkTags(input.Tags);
      const at = now();
      const suffix = randomBytes(4).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
      const secret: Secret = {
        arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`,
        name,
        tags: new Map(tags.map((t) => [t.Key, t.Value])),
        versions: new Map(),
        rotationEnabled: false,
        created: at,
        lastChanged: at,
        ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
        ...(typeof input.KmsKeyId === 'string' ? { kmsKeyId: input.KmsKeyId } : {}),
      };
      // [Create]: a version only when a value is given; it is AWSCURRENT.
      let versionId: string | undefined;
      if (typeof input.SecretString === 'string') {
        versionId = checkToken(input.ClientRequestToken);
        secret.versions.set(versionId, {
          id: versionId,
          value: input.SecretString,
          stages: new Set([CURRENT]),
          created: at,
        });
      }
      secrets.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(versionId ? { VersionId: versionId } : {}) };
    },

    DescribeSecret(input) {
      const s = find(input.SecretId);
      return {
        ARN: s.arn,
        Name: s.name,
        ...(s.description !== undefined ? { Description: s.description } : {}),
        ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
        RotationEnabled: s.rotationEnabled,
        ...(s.rotationLambdaArn ? { RotationLambdaARN: s.rotationLambdaArn } : {}),
        ...(s.automaticallyAfterDays
          ? { RotationRules: { AutomaticallyAfterDays: s.automaticallyAfterDays } }
          : {}),
        ...(s.lastRotated ? { LastRotatedDate: epoch(s.lastRotated) } : {}),
        LastChangedDate: epoch(s.lastChanged),
        CreatedDate: epoch(s.created),
        ...(s.tags.size > 0 ? { Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })) } : {}),
        VersionIdsToStages: stagesOf(s),
      };
    },

    GetSecretValue(input) {
      const s = find(input.SecretId);
      const versionId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
      const stage = typeof input.VersionStage === 'string' ? input.VersionStage : undefined;
      let version: Version | undefined;
      if (versionId !== undefined) {
        version = s.versions.get(versionId);
        // The stricter reading: a VersionStage that the named version doesn't hold finds nothing.
        if (version && stage !== undefined && !version.stages.has(stage)) version = undefined;
        if (version?.value === undefined)
          throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      } else {
        version = holder(s, stage ?? CURRENT);
        if (version?.value === undefined)
          throw notFound(
            `Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`,
          );
      }
      return {
        ARN: s.arn,
        Name: s.name,
        VersionId: version.id,
        SecretString: version.value,
        VersionStages: [...version.stages],
        CreatedDate: epoch(version.created),
      };
    },

    PutSecretValue(input) {
      const s = find(input.SecretId);
      const token = checkToken(input.ClientRequestToken);
      if (typeof input.SecretString !== 'string')
        throw invalidRequest('The double stores SecretString only.');
      const requested = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : undefined;
      const existing = s.versions.get(token);
      if (existing?.value !== undefined) {
        // [Put]: a version is immutable; the same value again is ignored.
        if (existing.value !== input.SecretString)
          throw new ApiError(
            'ResourceExistsException',
            "You can't modify an existing version, you can only create a new version.",
          );
        return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      // [Put] "creates the first version for the secret": no version at all yet. Filling the empty
      // version RotateSecret made creates no version, so it gets no automatic AWSCURRENT.
      const first = s.versions.size === 0;
      const version: Version = existing ?? { id: token, stages: new Set(), created: now() };
      version.value = input.SecretString;
      s.versions.set(token, version);
      for (const stage of requested ?? [CURRENT]) attach(s, version, stage);
      if (first) attach(s, version, CURRENT);
      s.lastChanged = now();
      return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...version.stages] };
    },

    UpdateSecretVersionStage(input) {
      const s = find(input.SecretId);
      const stage = input.VersionStage;
      if (typeof stage !== 'string' || stage === '') throw invalidParameter('VersionStage is required.');
      const moveTo = typeof input.MoveToVersionId === 'string' ? input.MoveToVersionId : undefined;
      const removeFrom =
        typeof input.RemoveFromVersionId === 'string' ? input.RemoveFromVersionId : undefined;
      const current = holder(s, stage);
      if (moveTo !== undefined) {
        const target = s.versions.get(moveTo);
        if (target === undefined)
          throw notFound(`Secrets Manager can't find the specified secret version ${moveTo}.`);
        if (current !== undefined && current !== target && current.id !== removeFrom)
          throw invalidParameter(
            `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${current.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
          );
        // The stricter reading of "the version ID does not match": naming a version that doesn't
        // hold the label fails too.
        if (removeFrom !== undefined && current?.id !== removeFrom)
          throw invalidParameter(`Version ${removeFrom} does not have the staging label ${stage}.`);
        attach(s, target, stage);
      } else {
        if (removeFrom === undefined || current?.id !== removeFrom)
          throw invalidParameter(
            `Version ${removeFrom ?? '(none)'} does not have the staging label ${stage}.`,
          );
        current.stages.delete(stage);
      }
      s.lastChanged = now();
      return { ARN: s.arn, Name: s.name };
    },

    ListSecretVersionIds(input) {
      const s = find(input.SecretId);
      const all = [...s.versions.values()].filter(
        (v) => input.IncludeDeprecated === true || v.stages.size > 0,
      );
      const start = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
      const size = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
      const page = all.slice(start, start + size);
      return {
        ARN: s.arn,
        Name: s.name,
        Versions: page.map((v) => ({
          VersionId: v.id,
          VersionStages: [...v.stages],
          CreatedDate: epoch(v.created),
        })),
        ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
      };
    },

    RotateSecret(input) {
      const s = find(input.SecretId);
      if (input.RotateImmediately === false)
        throw invalidRequest(
          'The double does not implement RotateImmediately=false (keyrot never sends it).',
        );
      const pending = holder(s, PENDING);
      if (pending !== undefined && !pending.stages.has(CURRENT))
        throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
      const lambdaArn =
        typeof input.RotationLambdaARN === 'string' ? input.RotationLambdaARN : s.rotationLambdaArn;
      if (!lambdaArn) throw invalidRequest('No Lambda rotation function ARN is associated with this secret.');
      const rules = input.RotationRules as { AutomaticallyAfterDays?: unknown } | undefined;
      if (rules?.AutomaticallyAfterDays !== undefined) {
        const days = rules.AutomaticallyAfterDays;
        if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 1000)
          throw validation('RotationRules.AutomaticallyAfterDays must be 1 to 1000.');
        s.automaticallyAfterDays = days;
      }
      const token = checkToken(input.ClientRequestToken ?? randomUUID());
      if (s.versions.has(token))
        throw new ApiError(
          'ResourceExistsException',
          `A version with ClientRequestToken ${token} already exists.`,
        );
      s.rotationEnabled = true;
      s.rotationLambdaArn = lambdaArn;
      // [Describe] [RotateSecret]: the empty version, staged AWSPENDING, exists before createSecret
      // runs (a label is on one version at a time: a finished rotation's AWSPENDING moves here).
      const stub: Version = { id: token, stages: new Set(), created: now() };
      s.versions.set(token, stub);
      attach(s, stub, PENDING);
      s.lastChanged = now();
      const rotation: Rotation = {
        secretArn: s.arn,
        token,
        invoked: [],
        done: Promise.resolve(),
        finished: false,
      };
      rotations.push(rotation);
      // [RotateSecret] "starts the asynchronous process": the function runs after this call returns.
      rotation.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => run(rotation));
      return { ARN: s.arn, Name: s.name, VersionId: token };
    },

    TagResource(input) {
      const s = find(input.SecretId);
      for (const { Key, Value } of checkTags(input.Tags)) s.tags.set(Key, Value);
      return {};
    },

    UntagResource(input) {
      const s = find(input.SecretId);
      for (const key of Array.isArray(input.TagKeys) ? (input.TagKeys as string[]) : []) s.tags.delete(key);
      return {};
    },

    ListSecrets(input) {
      const filters = Array.isArray(input.Filters)
        ? (input.Filters as Array<{ Key?: string; Values?: string[] }>)
        : [];
      const matches = (s: Secret) =>
        filters.every(({ Key, Values = [] }) => {
          if (Key === 'name') return Values.some((v) => s.name.startsWith(v));
          if (Key === 'tag-key') return Values.some((v) => s.tags.has(v));
          throw invalidRequest(`The double does not implement the ListSecrets filter ${Key}.`);
        });
      const list = [...secrets.values()].filter(matches);
      const start = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
      const size = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
      return {
        SecretList: list.slice(start, start + size).map((s) => ({
          ARN: s.arn,
          Name: s.name,
          RotationEnabled: s.rotationEnabled,
          ...(s.tags.size > 0 ? { Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })) } : {}),
          SecretVersionsToStages: stagesOf(s),
          CreatedDate: epoch(s.created),
        })),
        ...(start + size < list.length ? { NextToken: String(start + size) } : {}),
      };
    },
  };

  /** Runs the four steps in order with the rotation's token; a failed step ends the run [How]. */
  async function run(rotation: Rotation): Promise<void> {
    rotation.error = undefined;
    for (const Step of STEPS) {
      rotation.invoked.push(Step);
      try {
        await options.rotationFunction({
          Step,
          SecretId: rotation.secretArn,
          ClientRequestToken: rotation.token,
        });
      } catch (error) {
        rotation.error = error;
        return;
      }
    }
    rotation.finished = true;
    const secret = [...secrets.values()].find((s) => s.arn === rotation.secretArn);
    if (secret) secret.lastRotated = now();
  }

  const route = (request: FakeRequest): FakeReply => {
    const reply = (status: number, json: unknown, type?: string): FakeReply => ({
      status,
      json,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
        ...(type ? { 'x-amzn-errortype': type } : {}),
      },
    });
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    if (request.method !== 'POST' || request.path !== '/' || operation === '')
      return reply(
        400,
        { __type: 'UnknownOperationException', message: `Not a Secrets Manager request: ${target}` },
        'UnknownOperationException',
      );
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 '))
      return reply(
        400,
        { __type: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' },
        'MissingAuthenticationTokenException',
      );
    const input = jsonBody(request);
    const { SecretString: _omitted, ...recorded } = input;
    const call: RecordedCall = { operation, input: recorded };
    calls.push(call);
    const handler = operations[operation];
    if (handler === undefined) {
      call.error = 'UnknownOperationException';
      return reply(
        400,
        { __type: 'UnknownOperationException', message: `The double does not implement ${operation}.` },
        'UnknownOperationException',
      );
    }
    try {
      return reply(200, handler(input));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      call.error = error.type;
      return reply(400, { __type: error.type, message: error.message }, error.type);
    }
  };

  const server = await startFakeServer(route);
  return {
    url: server.url,
    region,
    calls,
    rotations,
    server,
    async settled() {
      // A rotation may start while others run: wait until no new one appeared.
      for (let seen = -1; seen !== rotations.length; ) {
        seen = rotations.length;
        await Promise.all(rotations.map((r) => r.done));
      }
    },
    versions(secretId) {
      return Object.fromEntries(
        [...find(secretId).versions.values()].map((v) => [
          v.id,
          { stages: [...v.stages], hasValue: v.value !== undefined },
        ]),
      );
    },
    async retry(secretId) {
      const secret = find(secretId);
      const rotation = [...rotations].reverse().find((r) => r.secretArn === secret.arn && !r.finished);
      if (rotation === undefined) throw new Error(`No unfinished rotation of ${secret.name} to retry.`);
      await rotation.done;
      rotation.done = run(rotation);
      await rotation.done;
      return rotation;
    },
    close: () => server.close(),
  };
}
