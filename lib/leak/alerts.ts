import type { Alert } from '../alerts/alerts.js';
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
            `keyrot ${o.onboarded ? 'onboarded the user and ' : ''}rotated it: ${o.newKeyId} is AWSCURRENT in the user's secret and was pushed to its targets and proven.`,
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
        return {
          ...base,
          title: `keyrot: responding to the leak of ${who} failed`,
          lines: [`${who} was exposed in public${reported}.`, `The response failed: ${o.detail}.`],
          nextSteps: [
            `Run it by hand: keyrot rotate --user ${userName ?? 'USER'} --compromised --key ${o.accessKeyId}`,
            ...review,
          ],
        };
    }
  });
}
