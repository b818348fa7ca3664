/** The IAM credential report's 22 columns, as IAM (and moto) write them. */
export const REPORT_HEADER =
  'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';

/** A report body as GetCredentialReport returns it (bytes), from data rows. */
export const reportContent = (rows: string[]) =>
  new TextEncoder().encode(`${[REPORT_HEADER, ...rows].join('\n')}\n`);
