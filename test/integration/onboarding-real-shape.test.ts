import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { DAY_MS } from '../../lib/clock.js';
import { defaultConfig } from '../../lib/config.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { runRotationStep } from '../../lib/rotation/lambda-step.js';
import { startRotations } from '../../lib/rotation/start.js';
import { scanAccount } from '../../lib/scan.js';
import { describeSecret, TAG } from '../../lib/secret/secret.js';
import { readCredential } from '../../lib/secret/value.js';
import { seedUsers, signWith } from '../../lib/testbed/seed.js';
import {
  type RotationEvent,
  type SecretsManagerDouble,
  startSecretsManagerDouble,
} from '../fakes/secrets-manager.js';
import { manualClock } from '../helpers/clock.js';
import { InjectedCrash } from '../helpers/crash.js';
import { keyIds } from '../helpers/rotation.js';

// Onboarding in the shape real Secrets Manager gives it (test/fakes/secrets-manager.ts, from AWS's
// documentation), not moto's: the scan creates the secret without a value and calls RotateSecret;
// Secrets Manager makes an empty version staged AWSPENDING (no AWSCURRENT anywhere), then invokes the
// rotate function's four steps with that version's id as the token. IAM and STS stay on moto.

const ROTATE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:keyrot-dev-rotate';
const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const arnOf = (user: string) => `arn:aws:iam::123456789012:user/machine/${user}`;
const moto = createClients();

let double: SecretsManagerDouble;
/** The scan's client (and the test's) on the double. */
let sm: SecretsManagerClient;
/** The rotate function's client on the double: it can crash right after an answered PutSecretValue. */
let fnSecrets: SecretsManagerClient;
let crashAfterPut = false;
/** The next createSecret dies before it does anything (a timeout, a throttled Lambda). */
let failNextCreate = false;
/** What the secret held when each step was invoked, and the event. */
const invocations: Array<{ event: RotationEvent; versions: ReturnType<SecretsManagerDouble['versions']> }> =
  [];

const smClient = () =>
  new SecretsManagerClient({
    endpoint: double.url,
    region: double.region,
    credentials: { accessKeyId: 'double', secretAccessKey: 'double' },
  });

beforeAll(async () => {
  double = await startSecretsManagerDouble({
    // The rotate function, as Lambda runs it: functions/rotate.ts's runRotationStep with the function's deps.
    rotationFunction: async (event) => {
      invocations.push({ event, versions: double.versions(event.SecretId) });
      if (failNextCreate && event.Step === 'createSecret') {
        failNextCreate = false;
        throw new Error('Task timed out');
      }
      const deps = rotationDeps({ ...moto, secrets: fnSecrets }, manualClock(new Date()), defaultConfig);
      return runRotationStep(deps, defaultConfig, event);
    },
  });
  sm = smClient();
  fnSecrets = smClient();
  fnSecrets.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (crashAfterPut && context.commandName === 'PutSecretValueCommand') {
        crashAfterPut = false;
        throw new InjectedCrash('secretsmanager:PutSecretValue');
      }
      return result;
    },
    { step: 'initialize', name: 'injectCrash', priority: 'high' },
  );
});
afterAll(async () => {
  sm.destroy();
  fnSecrets.destroy();
  await double.close();
});
beforeEach(() => {
  invocations.length = 0;
  double.calls.length = 0;
});

async function seedDue(userName: string): Promise<string> {
  const [key] = await seedUsers(moto.iam, endpoint(), [
    { userName, path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] },
  ]);
  return key?.accessKeyId ?? '';
}

/** The scheduled scan, 100 days on (the seeded key is past maxKeyAgeDays), with Secrets Manager on the double. */
async function scan() {
  const now = new Date(Date.now() + 100 * DAY_MS);
  const { plan } = await scanAccount(
    { clients: { iam: moto.iam, sts: moto.sts, secrets: sm }, clock: manualClock(new Date()) },
    defaultConfig,
    now,
  );
  return startRotations(sm, plan, defaultConfig, ROTATE_ARN);
}

const callsOf = (operation: string) => double.calls.filter((c) => c.operation === operation);

describe('onboarding through Secrets Manager as documented', () => {
  it('RotateSecret makes the empty pending version; createSecret fills that version; finishSecret adds AWSCURRENT to it', async () => {
    // Prepare
    const original = await seedDue('first');
    // Act: the scan onboards the user, then Secrets Manager runs the rotation.
    const results = await scan();
    await double.settled();
    // Assess: the scan created the secret without a value and started the rotation with the function.
    expect(results).toEqual([{ userName: 'first', secretName: 'keyrot/first', outcome: 'onboarded' }]);
    expect(callsOf('CreateSecret')[0]?.input).not.toHaveProperty('SecretString');
    expect(callsOf('RotateSecret')[0]?.input).toMatchObject({
      SecretId: 'keyrot/first',
      RotationLambdaARN: ROTATE_ARN,
      RotationRules: { AutomaticallyAfterDays: defaultConfig.policy.maxKeyAgeDays },
    });
    const [rotation] = double.rotations.slice(-1);
    const token = rotation?.token ?? '';
    expect(rotation).toMatchObject({ finished: true, error: undefined });
    // Every step got the token of the version RotateSecret made; createSecret found it empty and
    // AWSPENDING, with no AWSCURRENT anywhere.
    expect(invocations.map((i) => [i.event.Step, i.event.ClientRequestToken])).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((step) => [step, token]),
    );
    expect(invocations[0]?.versions).toEqual({ [token]: { stages: ['AWSPENDING'], hasValue: false } });
    // createSecret stored the key into that same version, as AWSPENDING, and no AWSCURRENT appeared.
    expect(callsOf('PutSecretValue').map((c) => c.input)).toEqual([
      { SecretId: rotation?.secretArn, ClientRequestToken: token, VersionStages: ['AWSPENDING'] },
    ]);
    expect(invocations[1]?.versions).toEqual({ [token]: { stages: ['AWSPENDING'], hasValue: true } });
    // finishSecret: the first stage move, AWSCURRENT added with no version to take it from.
    expect(callsOf('UpdateSecretVersionStage').map((c) => c.input)).toEqual([
      { SecretId: rotation?.secretArn, VersionStage: 'AWSCURRENT', MoveToVersionId: token },
    ]);
    // The end state: exactly one version, AWSCURRENT (AWSPENDING may stay with it), its key works.
    const { Versions = [] } = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: 'keyrot/first', IncludeDeprecated: true }),
    );
    expect(Versions.map((v) => v.VersionId)).toEqual([token]);
    expect(double.versions('keyrot/first')).toEqual({
      [token]: { stages: ['AWSPENDING', 'AWSCURRENT'], hasValue: true },
    });
    const snapshot = await describeSecret(sm, 'keyrot/first');
    expect(snapshot.cutover?.versionId).toBe(token);
    expect(snapshot.tags[TAG.userArn]).toBe(arnOf('first'));
    const { current, keys } = await currentAndKeys('first');
    expect(await signWith(endpoint(), current.AccessKeyId, current.SecretAccessKey)).toBe(arnOf('first'));
    expect(keys.map((k) => k.id).sort()).toEqual([original, current.AccessKeyId].sort());
    expect(keys.every((k) => k.status === 'Active')).toBe(true);
  });

  it('a crash right after PutSecretValue: Secrets Manager retries createSecret with the same token, which makes no second key', async () => {
    // Prepare: the rotate function dies right after createSecret's PutSecretValue was answered.
    const original = await seedDue('crashed');
    crashAfterPut = true;
    // Act
    await scan();
    await double.settled();
    const [rotation] = double.rotations.slice(-1);
    expect(rotation?.error).toBeInstanceOf(InjectedCrash);
    expect(rotation?.finished).toBe(false);
    const token = rotation?.token ?? '';
    const stored = double.versions('keyrot/crashed');
    expect(stored).toEqual({ [token]: { stages: ['AWSPENDING'], hasValue: true } });
    const keysAfterCrash = await keyIds(moto, 'crashed');
    expect(keysAfterCrash).toHaveLength(2);
    // ...Secrets Manager retries the rotation, from createSecret, with the same token.
    await double.retry('keyrot/crashed');
    // Assess: createSecret ran twice with one token and stored once; the key it stored is current.
    expect(rotation).toMatchObject({ finished: true, error: undefined });
    expect(
      invocations.filter((i) => i.event.Step === 'createSecret').map((i) => i.event.ClientRequestToken),
    ).toEqual([token, token]);
    expect(callsOf('PutSecretValue')).toHaveLength(1);
    const { current, keys } = await currentAndKeys('crashed');
    expect(keys).toEqual(keysAfterCrash);
    expect(keys.map((k) => k.id).sort()).toEqual([original, current.AccessKeyId].sort());
    expect(await signWith(endpoint(), current.AccessKeyId, current.SecretAccessKey)).toBe(arnOf('crashed'));
    expect(double.versions('keyrot/crashed')).toEqual({
      [token]: { stages: ['AWSPENDING', 'AWSCURRENT'], hasValue: true },
    });
  });

  it("a failed first createSecret leaves the empty pending version: a later scan reports the rotation stuck (from the empty version's creation date) and starts nothing", async () => {
    // Prepare: the rotate function fails its first createSecret before doing anything.
    const original = await seedDue('failed');
    failNextCreate = true;
    // Act
    await scan();
    await double.settled();
    const [rotation] = double.rotations.slice(-1);
    expect((rotation?.error as Error | undefined)?.message).toBe('Task timed out');
    expect(double.versions('keyrot/failed')).toEqual({
      [rotation?.token ?? '']: { stages: ['AWSPENDING'], hasValue: false },
    });
    double.calls.length = 0;
    const again = await scan();
    // Assess: the empty AWSPENDING version is an unfinished rotation, made (ListSecretVersionIds'
    // CreatedDate) more than rotation.stuckAfterHours before the scan's simulated now; nothing new starts.
    const reported = again.find((r) => r.userName === 'failed');
    expect(reported?.outcome).toBe('stuck');
    expect(reported?.detail).toContain(`AWSPENDING version ${rotation?.token}`);
    expect(callsOf('RotateSecret')).toEqual([]);
    expect((await keyIds(moto, 'failed')).map((k) => k.id)).toEqual([original]);
    // Secrets Manager's retry then finishes it with the same token.
    await double.retry('keyrot/failed');
    expect(rotation).toMatchObject({ finished: true, error: undefined });
    const { current } = await currentAndKeys('failed');
    expect(double.versions('keyrot/failed')).toEqual({
      [rotation?.token ?? '']: { stages: ['AWSPENDING', 'AWSCURRENT'], hasValue: true },
    });
    expect(await signWith(endpoint(), current.AccessKeyId, current.SecretAccessKey)).toBe(arnOf('failed'));
  });

  it('the CLI onboards without RotateSecret: its PutSecretValue makes the first version, which Secrets Manager makes AWSCURRENT at once', async () => {
    // Prepare
    const original = await seedDue('local');
    // Act
    const result = await rotateUser(
      rotationDeps({ ...moto, secrets: sm }, manualClock(new Date()), defaultConfig),
      defaultConfig,
      'local',
    );
    // Assess: [Put] "creates the first version for the secret" -> AWSCURRENT with AWSPENDING; finishSecret
    // only records the cut-over, no stage move.
    expect(result).toMatchObject({ onboarded: true, resumed: false });
    expect(callsOf('RotateSecret')).toEqual([]);
    expect(callsOf('UpdateSecretVersionStage')).toEqual([]);
    const versions = Object.values(double.versions('keyrot/local'));
    expect(versions).toEqual([{ stages: ['AWSPENDING', 'AWSCURRENT'], hasValue: true }]);
    const { current, keys } = await currentAndKeys('local');
    expect(current.AccessKeyId).toBe(result.accessKeyId);
    expect(keys.map((k) => k.id).sort()).toEqual([original, result.accessKeyId].sort());
    expect((await describeSecret(sm, 'keyrot/local')).cutover).toBeDefined();
  });
});

async function currentAndKeys(userName: string) {
  const snapshot = await describeSecret(sm, `keyrot/${userName}`);
  const currentId = [...snapshot.versions].find(([, s]) => s.includes('AWSCURRENT'))?.[0];
  const current = await readCredential(sm, snapshot.arn, currentId);
  if (current === undefined) throw new Error(`${userName}: no AWSCURRENT credential`);
  const { AccessKeyMetadata = [] } = await moto.iam.send(new ListAccessKeysCommand({ UserName: userName }));
  expect(AccessKeyMetadata.length).toBeLessThanOrEqual(2);
  return { current, keys: await keyIds(moto, userName) };
}
