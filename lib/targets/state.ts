/**
 * Per-target state on the keyrot secret: which key id each target last received, from which secret
 * version, and when; or that the target was disabled (a webhook answered 410). One tag per target,
 * `keyrot:target:<name>` = `<key id> <version id> <ISO time>` or `disabled - <ISO time>`. Tags, as
 * versions are immutable; DescribeSecret reads them, so the scan and retire functions see this
 * state without reading any secret value and without adapter code.
 *
 * This module is the whole interface to that state (read, format, write), so that it can move into
 * the keyrot secret module as it is.
 */
import { TagResourceCommand } from '@aws-sdk/client-secrets-manager';

export const TARGET_TAG_PREFIX = 'keyrot:target:';

export type TargetRecord =
  | { name: string; state: 'received'; accessKeyId: string; versionId: string; at: Date }
  | { name: string; state: 'disabled'; at: Date };

export const targetTagKey = (name: string) => `${TARGET_TAG_PREFIX}${name}`;

/** The records in a secret's tags, by target name; malformed values are ignored. */
export function readTargetRecords(tags: Record<string, string>): Map<string, TargetRecord> {
  const records = new Map<string, TargetRecord>();
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(TARGET_TAG_PREFIX)) continue;
    const name = key.slice(TARGET_TAG_PREFIX.length);
    const [first, second, iso] = value.split(' ');
    const at = new Date(iso ?? '');
    if (!first || !second || Number.isNaN(at.getTime())) continue;
    records.set(
      name,
      first === 'disabled'
        ? { name, state: 'disabled', at }
        : { name, state: 'received', accessKeyId: first, versionId: second, at },
    );
  }
  return records;
}

export function formatTargetRecord(record: TargetRecord): string {
  return record.state === 'disabled'
    ? `disabled - ${record.at.toISOString()}`
    : `${record.accessKeyId} ${record.versionId} ${record.at.toISOString()}`;
}

/** Writes records (one TagResource for all of them); nothing to write, no call. */
export async function recordTargets(
  secrets: { send(command: TagResourceCommand): Promise<unknown> },
  secretArn: string,
  records: readonly TargetRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await secrets.send(
    new TagResourceCommand({
      SecretId: secretArn,
      Tags: records.map((r) => ({ Key: targetTagKey(r.name), Value: formatTargetRecord(r) })),
    }),
  );
}
