/**
 * Every alert the tests receive (fake Slack, SQS subscriptions of the topic) passes through here: it
 * must hold no key material. A secret access key is 40 characters of the base64 alphabet standing
 * alone; a session token or secret field name is as bad.
 */
const SECRET_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/;
const SECRET_FIELDS = /SecretAccessKey|SecretString|SessionToken|secretAccessKey/;

export const scanned = { alerts: 0 };

export function assertNoKeyMaterial(payload: string, extraSecrets: readonly string[] = []): void {
  scanned.alerts++;
  const shape = SECRET_SHAPE.exec(payload);
  if (shape) throw new Error(`An alert holds something shaped like a secret key: ${shape[0].slice(0, 4)}…`);
  const field = SECRET_FIELDS.exec(payload);
  if (field) throw new Error(`An alert names a secret field: ${field[0]}`);
  for (const secret of extraSecrets)
    if (secret !== '' && payload.includes(secret)) throw new Error('An alert holds a secret value');
}
