import {
  CreateSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { errorName } from '../aws/errors.js';
import type { Config } from '../config.js';
import type { Plan } from '../policy/plan.js';
import { createSecretInput, describeSecret, secretNameFor } from '../secret/secret.js';

export type StartOutcome = 'started' | 'onboarded' | 'in-progress' | 'failed';

export interface StartResult {
  userName: string;
  secretName: string;
  outcome: StartOutcome;
  error?: string;
}

/**
 * Asks Secrets Manager to rotate every machine user the plan marks for rotation; Secrets Manager then
 * serializes and retries the rotation, invoking the rotate function. A user without a secret is
 * onboarded: its secret is created, tagged with the user, then rotated with rotation configured.
 * One user's failure does not stop the others.
 */
export async function startRotations(
  secrets: SecretsManagerClient,
  plan: Plan,
  config: Config,
  rotateFunctionArn: string,
): Promise<StartResult[]> {
  const users = new Map(plan.users.map((u) => [u.userName, u]));
  const due = plan.actions.filter((a) => a.kind === 'rotate' && users.get(a.userName)?.isMachineUser);
  const rotation = {
    RotationLambdaARN: rotateFunctionArn,
    RotationRules: { AutomaticallyAfterDays: config.policy.maxKeyAgeDays },
  };
  const results: StartResult[] = [];
  for (const { userName } of due) {
    const secretName = secretNameFor(config, userName);
    try {
      let outcome: StartOutcome = 'started';
      let rotationEnabled = false;
      try {
        rotationEnabled = (await describeSecret(secrets, secretName)).rotationEnabled;
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
        await secrets.send(
          new CreateSecretCommand(createSecretInput(config, userName, users.get(userName)?.arn ?? '')),
        );
        outcome = 'onboarded';
      }
      await secrets.send(
        new RotateSecretCommand({ SecretId: secretName, ...(rotationEnabled ? {} : rotation) }),
      );
      results.push({ userName, secretName, outcome });
    } catch (error) {
      // Secrets Manager refuses a second rotation while one is unfinished; it retries that one itself.
      const inProgress =
        errorName(error) === 'InvalidRequestException' &&
        /previous rotation/i.test(String((error as Error).message));
      results.push({
        userName,
        secretName,
        outcome: inProgress ? 'in-progress' : 'failed',
        ...(inProgress ? {} : { error: `${errorName(error) ?? 'Error'}: ${(error as Error).message}` }),
      });
    }
  }
  return results;
}
