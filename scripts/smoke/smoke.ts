import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../lib/aws/clients.js';
import { errorName } from '../../lib/aws/errors.js';
import { type Clock, DAY_MS, simulatedClock } from '../../lib/clock.js';
import type { Config } from '../../lib/config.js';
import { retireUser } from '../../lib/retirement/retire.js';
import {
  createSecretInput,
  describeSecret,
  STAGE,
  secretNameFor,
  unfinishedToken,
  versionWith,
} from '../../lib/secret/secret.js';
import { parseSecretValue } from '../../lib/secret/value.js';

/**
 * The smoke test for a real sandbox account: what moto can't show. It runs the deployed stack's
 * rotation (Secrets Manager invoking the rotate function), on a throw-away machine user, then retires
 * the replaced key with short settings, and deletes everything it made, even when a step fails.
 */
export interface SmokeDeps {
  clients: Pick<AwsClients, 'iam' | 'sts' | 'secrets' | 'stsWith'>;
  clock: Clock;
  log(line: string): void;
}

export interface SmokeOptions {
  accountId: string;
  region: string;
  /** The deployed stack's stage: the rotate function is keyrot-<stage>-rotate. */
  stage: string;
  config: Config;
  /** The throw-away user's path: under the machine path, so the stack's roles reach it. */
  path: string;
  /** How long to wait for Secrets Manager to finish the rotation. */
  rotationTimeoutMs: number;
}

/** What the smoke test made, so clean-up knows what to delete. */
export interface Made {
  userName?: string;
  secretName?: string;
}

export interface SmokeReport {
  ok: boolean;
  steps: Array<{ step: string; ok: boolean; detail: string }>;
  /** What clean-up could not delete: delete these by hand. */
  leftovers: string[];
}

export const smokeUserName = () => `keyrot-smoke-${randomBytes(4).toString('hex')}`;

export async function runSmoke(deps: SmokeDeps, options: SmokeOptions, userName = smokeUserName()) {
  const made: Made = {};
  const steps: SmokeReport['steps'] = [];
  const step = async (name: string, run: () => Promise<string>) => {
    deps.log(`${name} ...`);
    try {
      const detail = await run();
      steps.push({ step: name, ok: true, detail });
      deps.log(`${name}: ok, ${detail}`);
    } catch (error) {
      const detail =
        error instanceof Error ? `${errorName(error) ?? error.name}: ${error.message}` : String(error);
      steps.push({ step: name, ok: false, detail });
      deps.log(`${name}: FAILED, ${detail}`);
      throw error;
    }
  };
  const { iam, secrets } = deps.clients;
  const rotateFunctionArn = `arn:aws:lambda:${options.region}:${options.accountId}:function:keyrot-${options.stage}-rotate`;
  let userArn = '';
  let oldKeyId = '';
  let newKeyId = '';
  try {
    await step('1. create a throw-away machine user', async () => {
      const { User } = await iam.send(
        new CreateUserCommand({
          UserName: userName,
          Path: options.path,
          Tags: [{ Key: options.config.ownerTag, Value: 'keyrot-smoke-test' }],
        }),
      );
      made.userName = userName;
      userArn = User?.Arn ?? '';
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
      oldKeyId = AccessKey?.AccessKeyId ?? '';
      return `${userArn} with key ${oldKeyId}`;
    });
    await step("2. onboard it through the deployed stack's RotateSecret", async () => {
      const input = createSecretInput(options.config, userName, userArn);
      made.secretName = secretNameFor(options.config, userName);
      await secrets.send(new CreateSecretCommand(input));
      await secrets.send(
        new RotateSecretCommand({
          SecretId: made.secretName,
          RotationLambdaARN: rotateFunctionArn,
          RotationRules: { AutomaticallyAfterDays: options.config.policy.maxKeyAgeDays },
        }),
      );
      return `${made.secretName} rotates with ${rotateFunctionArn}`;
    });
    await step('3. wait for Secrets Manager to finish the rotation', async () => {
      const deadline = deps.clock.now().getTime() + options.rotationTimeoutMs;
      for (;;) {
        const snapshot = await describeSecret(secrets, made.secretName ?? '');
        const current = versionWith(snapshot, STAGE.current);
        if (
          current !== undefined &&
          unfinishedToken(snapshot) === undefined &&
          snapshot.cutover?.versionId === current
        )
          return `version ${current} is AWSCURRENT, cut over at ${snapshot.cutover.at.toISOString()}`;
        if (deps.clock.now().getTime() >= deadline)
          throw new Error(
            `the rotation did not finish within ${Math.round(options.rotationTimeoutMs / 1000)} s (stages: ${JSON.stringify(Object.fromEntries(snapshot.versions))}); read the rotate function's log group`,
          );
        await deps.clock.sleep(10_000);
      }
    });
    await step('4. check the new key authenticates as the user', async () => {
      const { SecretString } = await secrets.send(
        new GetSecretValueCommand({ SecretId: made.secretName, VersionStage: STAGE.current }),
      );
      const value = parseSecretValue(SecretString);
      if (value === undefined) throw new Error('AWSCURRENT holds no keyrot credential');
      if (value.AccessKeyId === oldKeyId) throw new Error('AWSCURRENT still holds the old key');
      newKeyId = value.AccessKeyId;
      const sts = deps.clients.stsWith({
        accessKeyId: value.AccessKeyId,
        secretAccessKey: value.SecretAccessKey,
      });
      try {
        const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
        if (Arn !== userArn)
          throw new Error(`the new key authenticated as ${Arn ?? 'nobody'}, not ${userArn}`);
      } finally {
        sts.destroy();
      }
      return `${newKeyId} signs as ${userArn}`;
    });
    await step('5. retire the old key with short settings (1 day each)', async () => {
      const config: Config = {
        ...options.config,
        policy: {
          ...options.config.policy,
          deactivateAfterDays: 1,
          idleDaysBeforeDeactivate: 1,
          deleteAfterDays: 1,
        },
      };
      const at = (days: number) => new Date(deps.clock.now().getTime() + days * DAY_MS);
      const run = (days: number) =>
        retireUser(
          { clients: deps.clients, clock: simulatedClock(at(days), deps.clock) },
          config,
          userName,
          at(days),
        );
      const first = await run(2);
      if (!first?.applied.some((d) => d.kind === 'deactivate' && d.accessKeyId === oldKeyId))
        throw new Error(`day 2: ${oldKeyId} was not deactivated (${JSON.stringify(first?.decisions)})`);
      const second = await run(4);
      if (!second?.applied.some((d) => d.kind === 'delete' && d.accessKeyId === oldKeyId))
        throw new Error(`day 4: ${oldKeyId} was not deleted (${JSON.stringify(second?.decisions)})`);
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const left = AccessKeyMetadata.map((k) => k.AccessKeyId);
      if (left.length !== 1 || left[0] !== newKeyId) throw new Error(`the user holds ${left.join(', ')}`);
      return `${oldKeyId} deactivated, then deleted; ${newKeyId} remains`;
    });
  } catch {
    // The failed step is recorded; clean-up runs below whatever happened.
  }
  deps.log('6. delete everything the smoke test made ...');
  const leftovers = await cleanUp(deps, made);
  steps.push({
    step: '6. delete everything the smoke test made',
    ok: leftovers.length === 0,
    detail: leftovers.length === 0 ? 'nothing left' : `left behind: ${leftovers.join('; ')}`,
  });
  return { ok: steps.every((s) => s.ok), steps, leftovers } satisfies SmokeReport;
}

/**
 * Deletes what the smoke test made: the secret (at once, without a recovery window), every access
 * key of the user, then the user. Each deletion is tried whatever happened before it; something
 * already gone counts as deleted. Returns what is left, for the operator to delete by hand.
 */
export async function cleanUp(deps: Pick<SmokeDeps, 'clients' | 'log'>, made: Made): Promise<string[]> {
  const { iam, secrets } = deps.clients;
  const leftovers: string[] = [];
  const attempt = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
      deps.log(`  ${what}: done`);
    } catch (error) {
      if (/^(ResourceNotFoundException|NoSuchEntity(Exception)?)$/.test(errorName(error) ?? '')) return;
      leftovers.push(`${what} (${errorName(error) ?? 'Error'}: ${(error as Error).message})`);
    }
  };
  if (made.secretName !== undefined) {
    const secretName = made.secretName;
    await attempt(`delete secret ${secretName}`, () =>
      secrets.send(new DeleteSecretCommand({ SecretId: secretName, ForceDeleteWithoutRecovery: true })),
    );
  }
  if (made.userName !== undefined) {
    const userName = made.userName;
    let keys: string[] = [];
    await attempt(`list the access keys of ${userName}`, async () => {
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      keys = AccessKeyMetadata.map((k) => k.AccessKeyId ?? '');
    });
    for (const key of keys)
      await attempt(`delete access key ${key} of ${userName}`, () =>
        iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key })),
      );
    await attempt(`delete IAM user ${userName}`, () =>
      iam.send(new DeleteUserCommand({ UserName: userName })),
    );
  }
  return leftovers;
}
