import * as z from 'zod/mini';

/**
 * The secret's value: a valid `credential_process` document (Version, AccessKeyId, SecretAccessKey)
 * plus non-secret fields, so consumers that can read Secrets Manager use it directly.
 */
const secretValueSchema = z.object({
  Version: z.literal(1),
  AccessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
  SecretAccessKey: z.string().check(z.minLength(1)),
  UserName: z.string().check(z.minLength(1)),
  CreatedAt: z.string(),
});

export type SecretValue = z.infer<typeof secretValueSchema>;

export function formatSecretValue(value: SecretValue): string {
  return JSON.stringify(value);
}

/** Parses a stored value; `undefined` when it is not a keyrot credential (never echoes the text). */
export function parseSecretValue(text: string | undefined): SecretValue | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = z.safeParse(secretValueSchema, JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
