import type { Alert, KeyUsage } from '../alerts/alerts.js';
import type { ExposedKeysEvent } from './event.js';
import type { LeakOutcome } from './respond.js';

/**
 * One critical alert per exposed key: what leaked and when AWS reported it, what keyrot did, and what
 * is left for a person (review the key's use in CloudTrail; remove AWS's quarantine policy once
 * satisfied: keyrot never detaches policies, it holds no iam:DetachUserPolicy).
 */
export function leakAlerts(event: ExposedKeysEvent, outcomes: readonly LeakOutcome[]): Alert[] {
  const reported = event.reportedAt ? ` (AWS reported it ${event.reportedAt.toISOString()})` : '';
  return outcomes.map((o) => {
    const userName = 'userName' in o ? o.userName : undefined;
    const who = userName ? `${userName}'s key ${o.accessKeyId}` : `key ${o.accessKeyId}`;
    const review = [
      `Review what ${o.accessKeyId} did since it leaked: CloudTrail, event history, filtered by "AWS access key" ${o.accessKeyId} (aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=${o.accessKeyId}).`,
      ...(userName
        ? [
            `Once satisfied, remove AWS's quarantine policy from ${userName} (AWSCompromisedKeyQuarantineV2/V3): aws iam detach-user-policy --user-name ${userName} --policy-arn arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3. keyrot never detaches policies.`,
          ]
        : []),
    ];
    const base = {
      kind: 'key-leaked' as const,
      severity: 'critical' as const,
      accountId: event.accountId,
      ...(userName ? { userName } : {}),
      accessKeyId: o.accessKeyId,
      threadId: `keyrot-leak-${event.accountId}-${o.accessKeyId}`,
      // One alert per exposed key and outcome: a redelivered event is not announced twice.
      subject: `leak#${event.accountId}#${o.accessKeyId}`,
      state: o.outcome,
      ...(userName ? { command: `keyrot status --user ${userName}` } : {}),
    };
    switch (o.outcome) {
      case 'rotated':
        return {
          ...base,
          title: `keyrot: ${who} leaked; rotated to ${o.newKeyId}`,
          lines: [
            `${who} was exposed in public${reported}.`,
            `keyrot ${o.onboarded ? 'onboarded the user and ' : ''}rotated it: ${o.newKeyId} is AWSCURRENT in the user's secret${o.targetsUpdated.length > 0 ? `, and ${o.targetsUpdated.join(', ')} received it and proved ${o.targetsUpdated.length === 1 ? 'it holds' : 'they hold'} it` : ''}.`,
            `Deactivated: ${o.deactivated.join(', ') || 'none'}${o.deleted.length > 0 ? `; deleted: ${o.deleted.join(', ')}` : ''}.`,
          ],
          nextSteps: review,
        };
      case 'already-handled':
        return {
          ...base,
          title: `keyrot: ${who} leaked; already handled`,
          lines: [`${who} was exposed in public${reported}.`, `Already handled: ${o.detail}.`],
          nextSteps: review,
        };
      case 'not-managed':
        return {
          ...base,
          title: `keyrot: ${who} leaked; a person must act`,
          lines: [`${who} was exposed in public${reported}.`, `keyrot did not touch it: ${o.detail}.`],
          nextSteps: [
            `Deactivate ${o.accessKeyId} now (aws iam update-access-key --access-key-id ${o.accessKeyId} --status Inactive${userName ? ` --user-name ${userName}` : ''}), give its consumers a new key, then delete it.`,
            ...review,
          ],
        };
      case 'unknown':
        return {
          ...base,
          title: `keyrot: leaked key ${o.accessKeyId} not found`,
          lines: [`${who} was reported exposed${reported}, but ${o.detail}.`],
          nextSteps: [`Check which account holds ${o.accessKeyId}, and deactivate it there.`, ...review],
        };
      default:
        return failedAlert(base, o, who, reported, review);
    }
  });
}

type Failed = Extract<LeakOutcome, { outcome: 'failed' }>;

/**
 * A response that failed says where it stopped, as read back from AWS: whether the exposed key is
 * still active (a failed push or proof keeps it: a target without the new key still needs it), the
 * replacement waiting as AWSPENDING and which targets hold it, and the user's keys now.
 */
function failedAlert(
  base: Omit<Alert, 'title' | 'lines' | 'nextSteps'>,
  o: Failed,
  who: string,
  reported: string,
  review: string[],
): Alert {
  const after = o.after;
  const exposed = after?.keys.find((k) => k.accessKeyId === o.accessKeyId);
  const stillActive = exposed?.status === 'Active';
  const user = o.userName ?? 'USER';
  const lines = [`${who} was exposed in public${reported}.`, `The response failed: ${o.detail}`];
  if (after) {
    lines.push(
      stillActive
        ? `${o.accessKeyId} is still Active${after.currentKeyId === o.accessKeyId ? ' and AWSCURRENT' : ''}: keyrot takes an exposed key out only once every target holds its replacement, so no consumer loses a working key. AWS's quarantine policy limits what the key can do meanwhile.`
        : `${o.accessKeyId} is ${exposed ? exposed.status : 'deleted'}.`,
    );
    if (after.pendingKeyId !== undefined)
      lines.push(
        `Its replacement ${after.pendingKeyId} is stored as AWSPENDING, not current yet. Targets holding it: ${after.targetsWithNewKey.join(', ') || 'none'}; not yet: ${after.targetsWithoutNewKey.join(', ') || 'none'}.`,
      );
    lines.push(
      `${user}'s keys now: ${
        after.keys
          .map(
            (k) =>
              `${k.accessKeyId} ${k.status}${k.accessKeyId === after.currentKeyId ? ' (AWSCURRENT)' : ''}${k.accessKeyId === after.pendingKeyId ? ' (AWSPENDING)' : ''}`,
          )
          .join(', ') || 'none'
      }.`,
    );
  }
  const waiting = after?.targetsWithoutNewKey.join(', ');
  return {
    ...base,
    title: stillActive
      ? `keyrot: ${who} leaked; the response failed and the key is still active`
      : `keyrot: responding to the leak of ${who} failed`,
    lines,
    nextSteps: [
      `Fix what failed, then run the response again: keyrot respond --event FILE, or keyrot rotate --user ${user} --compromised --key ${o.accessKeyId}. It resumes this rotation${after?.pendingKeyId ? ` with ${after.pendingKeyId}` : ''} and takes ${o.accessKeyId} out once every target holds the new key. The leak-response function retries on its own, then parks the event in the failed-invocations queue.`,
      ...(stillActive
        ? [
            `To cut ${o.accessKeyId} off before that, accepting that consumers${waiting ? ` of ${waiting}` : ''} fail until they hold the new key: aws iam update-access-key${o.userName ? ` --user-name ${o.userName}` : ''} --access-key-id ${o.accessKeyId} --status Inactive.`,
          ]
        : []),
      ...review,
    ],
  };
}

/**
 * The enrichment step of sendAlerts for leak alerts: what the exposed key did, from CloudTrail
 * (management events by AccessKeyId, grouped by source). Asked only for an alert the ledger lets
 * through, after the response; a failed lookup leaves the alert without it (its steps still give
 * the lookup command).
 */
export function withExposedKeyCalls(
  lookup: (accessKeyId: string) => Promise<KeyUsage[] | undefined>,
): (alert: Alert) => Promise<Alert> {
  return async (alert) => {
    if (alert.kind !== 'key-leaked' || alert.accessKeyId === undefined) return alert;
    const usage = await lookup(alert.accessKeyId);
    return usage ? { ...alert, usage } : alert;
  };
}
