/**
 * Which IAM users keyrot can give a secret. IAM is more permissive than Secrets Manager: a user name
 * may contain "," (IAM API reference, CreateUser: [\w+=,.@-]+) and a path any printable ASCII
 * character, up to 512 of them (IAM API reference, CreateUser Path). moto accepts all of these
 * anywhere; AWS refuses them where keyrot would put them:
 * - secret names hold only letters, digits and /_+=.@- (Secrets Manager API reference, CreateSecret
 *   Name), and keyrot names a user's secret `<secretPrefix><user name>`;
 * - tag values hold at most 256 characters: letters, numbers, spaces and + - = . _ : / @ (Secrets
 *   Manager User Guide, "Tag restrictions"; AWS Tagging, "Tag naming limits and requirements"), and
 *   keyrot tags the secret with the user name (keyrot:user) and ARN (keyrot:user-arn).
 */

const SECRET_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
const TAG_VALUE_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const TAG_VALUE_MAX_LENGTH = 256;

/** Whether AWS accepts `value` as a tag value. */
export function isTagValue(value: string): boolean {
  return value.length <= TAG_VALUE_MAX_LENGTH && TAG_VALUE_CHARS.test(value);
}

/** Why keyrot can't manage this user (give it a secret, tagged with its name and ARN), or undefined. */
export function unmanageableReason(user: { userName: string; arn: string }): string | undefined {
  const refused = [...new Set(user.userName.replace(/[A-Za-z0-9/_+=.@-]/g, ''))];
  // A name secret names accept is a valid tag value too (a subset of its characters, at most 64 long).
  if (!SECRET_NAME_CHARS.test(user.userName)) {
    return `its name contains ${refused.map((c) => `"${c}"`).join(', ')}, which IAM allows but Secrets Manager secret names and tag values refuse, so keyrot can't give it a secret; create a user whose name has none, move its consumers there and delete this one`;
  }
  if (user.arn.length > TAG_VALUE_MAX_LENGTH) {
    return `its ARN is ${user.arn.length} characters long (a long IAM path), more than the ${TAG_VALUE_MAX_LENGTH} a tag value holds, so keyrot can't record it on the secret (keyrot:user-arn); create the user under a shorter path`;
  }
  if (!isTagValue(user.arn)) {
    const chars = [...new Set(user.arn.replace(/[\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, ''))];
    return `its path contains ${chars.map((c) => `"${c}"`).join(', ')}, which tag values refuse, so keyrot can't record its ARN on the secret (keyrot:user-arn); create the user under a path of letters, digits and _.:/=+-@`;
  }
  return undefined;
}
