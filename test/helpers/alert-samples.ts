import {
  type Alert,
  type AlertKind,
  driftAlert,
  emergencyAlert,
  redeployFailedAlert,
  retirementAlerts,
  rollbackAlert,
  rotationFailedAlert,
  scanAlerts,
  targetPushFailedAlert,
  userBrokenAlert,
} from '../../lib/alerts/alerts.js';
import { TargetError } from '../../lib/errors.js';
import { leakAlerts } from '../../lib/leak/alerts.js';
import { plan } from '../../lib/policy/plan.js';
import type { UserRetirement } from '../../lib/retirement/retire.js';
import { daysAgo, inventory, key, NOW, policy, user } from './builders.js';

export const ACCOUNT = '123456789012';

const retirement = (decisions: UserRetirement['decisions'], applied = decisions): UserRetirement => ({
  userName: 'ci-deploy',
  secretName: 'keyrot/ci-deploy',
  state: {
    userName: 'ci-deploy',
    keys: [
      {
        accessKeyId: 'AKIAEXAMPLEOLD0K3Y7Q',
        status: 'Active',
        createdAt: daysAgo(100),
        lastUsedAt: daysAgo(1),
      },
      { accessKeyId: 'AKIAEXAMPLENEW0K3Y9Z', status: 'Active', createdAt: daysAgo(9) },
    ],
    currentKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
    deactivatedAt: {},
    inactiveSeenAt: {},
  },
  decisions,
  applied,
});

/** One alert of every kind, as keyrot builds them, for rendering tests and the README's examples. */
export function alertOfEveryKind(): Record<AlertKind, Alert> {
  const old = 'AKIAEXAMPLEOLD0K3Y7Q';
  const p = plan(
    inventory([
      user({ userName: 'reporting-bot', hasConsolePassword: true, tags: { owner: 'data-team' } }),
      user({ userName: 'ci-deploy', keys: [key({ createdAt: daysAgo(100) })], tags: { owner: 'data-team' } }),
    ]),
    policy,
    NOW,
  );
  const [findings] = scanAlerts(p);
  const [failure] = scanAlerts(p, [
    {
      userName: 'ci-deploy',
      secretName: 'keyrot/ci-deploy',
      outcome: 'failed',
      error: 'AccessDeniedException: not authorized',
    },
  ]);
  const [held] = retirementAlerts(ACCOUNT, [
    retirement(
      [
        {
          accessKeyId: old,
          role: 'previous',
          kind: 'hold',
          reason: `${old} was used 1 day ago (idleDaysBeforeDeactivate 3)`,
        },
      ],
      [],
    ),
  ]);
  const [deactivated] = retirementAlerts(ACCOUNT, [
    retirement([
      {
        accessKeyId: old,
        role: 'previous',
        kind: 'deactivate',
        reason: 'idle for 4 days, 8 days after the cut-over',
      },
    ]),
  ]);
  const [deleted] = retirementAlerts(ACCOUNT, [
    retirement([
      {
        accessKeyId: old,
        role: 'previous',
        kind: 'delete',
        reason: 'inactive for 7 days (deleteAfterDays 7)',
      },
    ]),
  ]);
  const [leaked] = leakAlerts(
    {
      eventId: 'arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/example',
      accountId: ACCOUNT,
      reportedAt: daysAgo(0),
      accessKeyIds: [old],
    },
    [
      {
        accessKeyId: old,
        outcome: 'rotated',
        userName: 'ci-deploy',
        newKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
        onboarded: false,
        deactivated: [old],
        deleted: [],
        targetsUpdated: ['ci-repo'],
      },
    ],
  );
  const owned = (alert: Alert | undefined): Alert => ({
    ...(alert as Alert),
    owner: 'data-team',
    slackChannel: 'data-alerts',
  });
  return {
    findings: owned(findings),
    failure: owned(failure),
    'key-in-use': {
      ...owned(held),
      usage: [
        {
          sourceIp: '203.0.113.7',
          userAgent: 'aws-cli/2.15.0 Python/3.11 Linux',
          eventNames: ['GetCallerIdentity', 'ListBuckets'],
          lastSeen: daysAgo(1).toISOString(),
          events: 12,
        },
      ],
    },
    'key-deactivated': owned(deactivated),
    'key-deleted': owned(deleted),
    'rotation-failed': owned(
      rotationFailedAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        secretName: 'keyrot/ci-deploy',
        step: 'testSecret',
        token: 'a1b2c3d4-0000-4000-8000-000000000001',
        error: new Error('The new key did not authenticate within 120 s'),
        secretsManagerRetries: true,
      }),
    ),
    'target-push-failed': owned(
      targetPushFailedAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        accessKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
        targetType: 'github-actions',
        targetName: 'deploy-repo',
        error: new TargetError('GitHub answered 403: Resource not accessible by integration'),
      }),
    ),
    drift: owned(
      driftAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        targetType: 'github-actions',
        targetName: 'deploy-repo',
        holdsKeyId: old,
        source: 'record',
      }),
    ),
    'emergency-rotation': owned(
      emergencyAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        secretName: 'keyrot/ci-deploy',
        accessKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
        deactivated: [old],
        deleted: [],
      }),
    ),
    'key-leaked': {
      ...owned(leaked),
      // What the exposed key did, as the leak response's CloudTrail lookup gives it.
      usage: [
        {
          sourceIp: '198.51.100.23',
          userAgent: 'python-requests/2.31.0',
          eventNames: ['GetCallerIdentity', 'ListBuckets'],
          lastSeen: daysAgo(0).toISOString(),
          events: 4,
        },
      ],
    },
    rollback: owned(
      rollbackAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        secretName: 'keyrot/ci-deploy',
        restoredKeyId: old,
        replacedKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
        reactivated: true,
      }),
    ),
    'redeploy-failed': owned(
      redeployFailedAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        targetType: 'github-actions',
        targetName: 'deploy-repo',
        accessKeyId: 'AKIAEXAMPLENEW0K3Y9Z',
        error: new TargetError(
          "github-actions target \"deploy-repo\" (redeploy): HTTP 422 on POST /repos/acme/deploy/actions/workflows/deploy.yml/dispatches (Workflow does not have 'workflow_dispatch' trigger): GitHub refused to run workflow deploy.yml of acme/deploy: it needs a workflow_dispatch trigger, ref main must exist, and redeploy.inputs must match the workflow's inputs",
        ),
      }),
    ),
    'user-broken': owned(
      userBrokenAlert({
        accountId: ACCOUNT,
        userName: 'ci-deploy',
        reason: 'AWSCURRENT of keyrot/ci-deploy holds AKIAEXAMPLENEW0K3Y9Z, which no longer exists in IAM',
        fix: 'keyrot rotate --user ci-deploy',
        secretName: 'keyrot/ci-deploy',
      }),
    ),
  };
}
