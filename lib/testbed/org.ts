import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { type MemberRole, memberRoleArn } from '../accounts/assume.js';
import { type AwsClients, createClients } from '../aws/clients.js';

/**
 * An organization in an emulator (moto): the caller's account becomes its management account, and one
 * member account is created per name. Returns the member accounts' ids, in the names' order.
 */
export async function seedOrganization(org: OrganizationsClient, names: string[]): Promise<string[]> {
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const ids: string[] = [];
  for (const name of names) {
    const { CreateAccountStatus } = await org.send(
      new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
    );
    ids.push(CreateAccountStatus?.AccountId ?? '');
  }
  return ids;
}

/**
 * Clients that act in a member account of an emulated organization, as its member role (moto, with
 * request authentication off, lets the hub assume any role there): for seeding the account and
 * reading its state back, apart from the code under test's own credential handling.
 */
export async function memberClients(
  accountId: string,
  role: Pick<MemberRole, 'path' | 'name'> & { externalId: string },
): Promise<AwsClients> {
  const { Credentials: c } = await createClients().sts.send(
    new AssumeRoleCommand({
      RoleArn: memberRoleArn(accountId, role),
      RoleSessionName: 'seed',
      ExternalId: role.externalId,
    }),
  );
  return createClients({
    credentials: {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    },
  });
}
