import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type RotationEvent,
  type SecretsManagerDouble,
  startSecretsManagerDouble,
} from '../../fakes/secrets-manager.js';

// The double's documented behaviours, each checked through the AWS SDK over HTTP, so the double
// can't drift from what its header cites without a test failing here.

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate';
const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const T3 = '33333333-3333-4333-8333-333333333333';

let double: SecretsManagerDouble;
let sm: SecretsManagerClient;
const events: Array<RotationEvent & { stagesSeen: Record<string, string[]> }> = [];
/** What the rotation function does on each step (default: records what it sees, succeeds). */
let step: (event: RotationEvent) => Promise<void> = async () => {};
let returned = false;
let name = '';
let counter = 0;

beforeAll(async () => {
  double = await startSecretsManagerDouble({
    rotationFunction: async (event) => {
      const { VersionIdsToStages = {} } = await sm.send(
        new DescribeSecretCommand({ SecretId: event.SecretId }),
      );
      events.push({ ...event, stagesSeen: VersionIdsToStages });
      if (!returned) throw new Error('invoked before RotateSecret returned');
      await step(event);
    },
  });
  sm = new SecretsManagerClient({
    endpoint: double.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'double', secretAccessKey: 'double' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sm.destroy();
  await double.close();
});
beforeEach(() => {
  events.length = 0;
  step = async () => {};
  returned = false;
  name = `keyrot/user-${++counter}`;
});

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error) => ({ name: error.name, message: error.message }),
  );
const stages = async (id = name) =>
  (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {};
const rotate = async (token: string, extra: Record<string, unknown> = {}) => {
  returned = false;
  const out = await sm.send(
    new RotateSecretCommand({
      SecretId: name,
      ClientRequestToken: token,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 90 },
      ...extra,
    }),
  );
  returned = true;
  return out;
};

describe('CreateSecret [Create]', () => {
  it('without a value makes no version: nothing to read, no stage anywhere', async () => {
    const created = await sm.send(
      new CreateSecretCommand({ Name: name, Tags: [{ Key: 'keyrot:user', Value: 'u' }] }),
    );
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-\\w{6}$`),
    );
    expect(created.VersionId).toBeUndefined();
    expect(await stages()).toEqual({});
    expect(await errorOf(sm.send(new GetSecretValueCommand({ SecretId: name })))).toEqual({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({
      Name: name,
      RotationEnabled: false,
      Tags: [{ Key: 'keyrot:user', Value: 'u' }],
    });
  });

  it('with a value makes the first version, AWSCURRENT; a second secret of the same name is refused', async () => {
    const { VersionId } = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    expect(await stages()).toEqual({ [VersionId ?? '']: ['AWSCURRENT'] });
    expect((await errorOf(sm.send(new CreateSecretCommand({ Name: name }))))?.name).toBe(
      'ResourceExistsException',
    );
  });

  it('refuses a name or tag value Secrets Manager refuses', async () => {
    expect((await errorOf(sm.send(new CreateSecretCommand({ Name: 'keyrot/a,b' }))))?.name).toBe(
      'ValidationException',
    );
    await sm.send(new CreateSecretCommand({ Name: name }));
    for (const Value of ['a,b', 'x'.repeat(257)])
      expect(
        (await errorOf(sm.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k', Value }] }))))
          ?.name,
      ).toBe('ValidationException');
    await sm.send(
      new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'k', Value: 'A+B @x.y/z=1:2_-' }] }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['k'] }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: name }))).Tags).toBeUndefined();
  });
});

describe('RotateSecret on a secret with no value [RotateSecret] [Describe] [How]', () => {
  it('makes an empty version staged AWSPENDING under the token, with no AWSCURRENT, then invokes the four steps with it', async () => {
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: name }));
    const out = await rotate(T1);
    expect(out.VersionId).toBe(T1);
    // At once, before the function runs: the empty pending version.
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING'] });
    expect(await errorOf(sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: T1 })))).toEqual({
      name: 'ResourceNotFoundException',
      message: `Secrets Manager can't find the specified secret value for VersionId: ${T1}`,
    });
    await double.settled();
    expect(events.map((e) => [e.Step, e.SecretId, e.ClientRequestToken])).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((s) => [s, ARN, T1]),
    );
    expect(events[0]?.stagesSeen).toEqual({ [T1]: ['AWSPENDING'] });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 90 },
    });
    expect(described.LastRotatedDate).toBeInstanceOf(Date);
    expect(double.rotations.at(-1)).toMatchObject({ token: T1, finished: true, error: undefined });
  });

  it('refuses a second rotation while AWSPENDING is on a version that is not AWSCURRENT', async () => {
    await sm.send(new CreateSecretCommand({ Name: name }));
    step = async () => {
      throw new Error('createSecret failed');
    };
    await rotate(T1);
    await double.settled();
    expect(events.map((e) => e.Step)).toEqual(['createSecret']);
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING'] });
    expect(await errorOf(rotate(T2))).toEqual({
      name: 'InvalidRequestException',
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
    });
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING'] });
  });

  it('starts when AWSPENDING sits on the AWSCURRENT version, and takes the label to the new empty version', async () => {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: T1 }));
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSPENDING',
        MoveToVersionId: T1,
      }),
    );
    step = async () => {
      throw new Error('stop');
    };
    await rotate(T2);
    expect(await stages()).toEqual({ [T1]: ['AWSCURRENT'], [T2]: ['AWSPENDING'] });
    await double.settled();
  });

  it('retries an unfinished rotation with the same token, from createSecret', async () => {
    await sm.send(new CreateSecretCommand({ Name: name }));
    let fail = true;
    step = async (event) => {
      if (event.Step === 'testSecret' && fail) throw new Error('not yet');
    };
    await rotate(T1);
    await double.settled();
    expect(double.rotations.at(-1)?.error).toBeInstanceOf(Error);
    fail = false;
    const retried = await double.retry(name);
    expect(retried).toMatchObject({ token: T1, finished: true, error: undefined });
    expect(events.map((e) => `${e.Step}:${e.ClientRequestToken === T1}`)).toEqual([
      'createSecret:true',
      'setSecret:true',
      'testSecret:true',
      'createSecret:true',
      'setSecret:true',
      'testSecret:true',
      'finishSecret:true',
    ]);
  });

  it('refuses without a rotation function, and a schedule outside 1 to 1000 days', async () => {
    await sm.send(new CreateSecretCommand({ Name: name }));
    expect(
      (await errorOf(sm.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: T1 }))))?.name,
    ).toBe('InvalidRequestException');
    for (const days of [0, 1001])
      expect((await errorOf(rotate(T1, { RotationRules: { AutomaticallyAfterDays: days } })))?.name).toBe(
        'ValidationException',
      );
    expect(await stages()).toEqual({});
    expect((await errorOf(sm.send(new RotateSecretCommand({ SecretId: 'keyrot/nobody' }))))?.name).toBe(
      'ResourceNotFoundException',
    );
  });
});

describe('PutSecretValue [Put]', () => {
  it('fills the empty pending version under its token: AWSPENDING stays, no AWSCURRENT is added', async () => {
    step = async () => {
      throw new Error('stop after the stub');
    };
    await sm.send(new CreateSecretCommand({ Name: name }));
    await rotate(T1);
    await double.settled();
    const put = await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: T1,
        SecretString: 'new',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(put).toMatchObject({ VersionId: T1, VersionStages: ['AWSPENDING'] });
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING'] });
    const read = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: T1, VersionStage: 'AWSPENDING' }),
    );
    expect(read.SecretString).toBe('new');
  });

  it('is idempotent for the same token and value, and refuses another value under that token', async () => {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: T1 }));
    const input = {
      SecretId: name,
      ClientRequestToken: T2,
      SecretString: 'v2',
      VersionStages: ['AWSPENDING'],
    };
    await sm.send(new PutSecretValueCommand(input));
    await sm.send(new PutSecretValueCommand(input));
    expect(await errorOf(sm.send(new PutSecretValueCommand({ ...input, SecretString: 'other' })))).toEqual({
      name: 'ResourceExistsException',
      message: "You can't modify an existing version, you can only create a new version.",
    });
    expect(await stages()).toEqual({ [T1]: ['AWSCURRENT'], [T2]: ['AWSPENDING'] });
    expect(
      (await errorOf(sm.send(new PutSecretValueCommand({ ...input, ClientRequestToken: 'short' }))))?.name,
    ).toBe('ValidationException');
  });

  it('makes the first version of a secret AWSCURRENT whatever the stages asked for', async () => {
    await sm.send(new CreateSecretCommand({ Name: name }));
    await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: T1,
        SecretString: 'v1',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING', 'AWSCURRENT'] });
  });

  it('without VersionStages moves AWSCURRENT to the new version, and AWSPREVIOUS to the one it left', async () => {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: T1 }));
    await sm.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: T2, SecretString: 'v2' }));
    await sm.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: T3, SecretString: 'v3' }));
    expect(await stages()).toEqual({ [T2]: ['AWSPREVIOUS'], [T3]: ['AWSCURRENT'] });
    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(listed.Versions?.map((v) => v.VersionId).sort()).toEqual([T2, T3]);
    expect(listed.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    expect(all.Versions?.map((v) => v.VersionId).sort()).toEqual([T1, T2, T3]);
  });
});

describe('UpdateSecretVersionStage [Stage]', () => {
  it('adds AWSCURRENT to a version when no version holds it, without RemoveFromVersionId', async () => {
    step = async () => {
      throw new Error('stop');
    };
    await sm.send(new CreateSecretCommand({ Name: name }));
    await rotate(T1);
    await double.settled();
    await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: T1,
        SecretString: 'v',
        VersionStages: ['AWSPENDING'],
      }),
    );
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: T1,
      }),
    );
    expect(await stages()).toEqual({ [T1]: ['AWSPENDING', 'AWSCURRENT'] });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v');
  });

  it('refuses to move a label attached elsewhere unless RemoveFromVersionId names its version; AWSPREVIOUS follows AWSCURRENT', async () => {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: T1 }));
    await sm.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: T2,
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
      }),
    );
    const move = (RemoveFromVersionId?: string) =>
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: T2,
          ...(RemoveFromVersionId ? { RemoveFromVersionId } : {}),
        }),
      );
    expect(await errorOf(move())).toEqual({
      name: 'InvalidParameterException',
      message: `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${T1}, so you must explicitly reference that version in RemoveFromVersionId.`,
    });
    expect((await errorOf(move(T2)))?.name).toBe('InvalidParameterException');
    expect(await stages()).toEqual({ [T1]: ['AWSCURRENT'], [T2]: ['AWSPENDING'] });
    await move(T1);
    expect(await stages()).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSPENDING', 'AWSCURRENT'] });
    // Removing a label: RemoveFromVersionId alone, and it must hold the label.
    expect(
      (
        await errorOf(
          sm.send(
            new UpdateSecretVersionStageCommand({
              SecretId: name,
              VersionStage: 'AWSPENDING',
              RemoveFromVersionId: T1,
            }),
          ),
        )
      )?.name,
    ).toBe('InvalidParameterException');
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: T2,
      }),
    );
    expect(await stages()).toEqual({ [T1]: ['AWSPREVIOUS'], [T2]: ['AWSCURRENT'] });
  });
});

describe('the protocol', () => {
  it('lists secrets by name prefix and tag key', async () => {
    await sm.send(new CreateSecretCommand({ Name: name, Tags: [{ Key: 'keyrot:user', Value: 'u' }] }));
    const { SecretList = [] } = await sm.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'name', Values: [name] },
          { Key: 'tag-key', Values: ['keyrot:user'] },
        ],
      }),
    );
    expect(SecretList.map((s) => s.Name)).toEqual([name]);
  });

  it('answers an operation it does not implement with an error naming it, and records calls without secret values', async () => {
    const response = await fetch(double.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.DeleteSecret',
        authorization: 'AWS4-HMAC-SHA256 Credential=x',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'UnknownOperationException',
      message: 'The double does not implement DeleteSecret.',
    });
    const unsigned = await fetch(double.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(JSON.stringify(double.calls)).not.toContain('"SecretString"');
  });
});
