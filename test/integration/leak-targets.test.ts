/**
 * The leak response on moto for machine users with a GitHub Actions target (the loopback fake, which
 * opens every sealed box it receives): the new key reaches GitHub before the exposed key is taken
 * out, a duplicate event pushes nothing, a failed push keeps the exposed key for the consumers that
 * still need it and says so, and a user keyrot did not manage yet is onboarded with its target.
 */
import { readFileSync } from 'node:fs';
import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../lib/aws/clients.js';
import { type Config, parseConfig } from '../../lib/config.js';
import { leakAlerts } from '../../lib/leak/alerts.js';
import { parseExposedKeysEvent } from '../../lib/leak/event.js';
import { respondToLeak } from '../../lib/leak/respond.js';
import { rotationDeps } from '../../lib/rotation/deps.js';
import { rotateUser } from '../../lib/rotation/driver.js';
import { seedUsers } from '../../lib/testbed/seed.js';
import { type GithubFake, startGithubFake } from '../fakes/github.js';
import { manualClock } from '../helpers/clock.js';
import { assertNoKeyMaterial } from '../helpers/key-material.js';
import { expectConverged, keyIds, stageValue } from '../helpers/rotation.js';

const endpoint = () => process.env.AWS_ENDPOINT_URL ?? '';
const clients = createClients();
const TOKEN = 'github_pat_leak_integration_0123456789';
const USERS = ['gh-managed', 'gh-delete', 'gh-503', 'gh-422', 'gh-new'];
const arnOf = (user: string) => `arn:aws:iam::123456789012:user/machine/${user}`;
const sample = JSON.parse(
  readFileSync(new URL('../fixtures/health-exposed-event.json', import.meta.url), 'utf8'),
) as { detail: Record<string, unknown> };
let github: GithubFake;
let config: Config;
/** Each user's key from before keyrot (seeded, signed with, so IAM records its use). */
const seeded: Record<string, string> = {};

const deps = () =>
  rotationDeps(clients, manualClock(new Date()), config, {
    // Two attempts per provider call, short waits: a 5xx is retried once, then the push fails.
    targetDeps: { http: { timeoutMs: 2_000, attempts: 2, maxWaitMs: 1_000 } },
  });
const eventFor = (...keyIds: string[]) =>
  parseExposedKeysEvent({
    ...sample,
    detail: { ...sample.detail, affectedEntities: keyIds.map((entityValue) => ({ entityValue })) },
  });
const repoOf = (user: string) => `repo:acme/${user}`;
/** What GitHub holds for the user's repository: both secrets (decrypted by the fake) and the variable. */
const githubHolds = (user: string) => ({
  AccessKeyId: github.secret(repoOf(user), 'AWS_ACCESS_KEY_ID'),
  SecretAccessKey: github.secret(repoOf(user), 'AWS_SECRET_ACCESS_KEY'),
  fingerprint: github.variable(repoOf(user), 'KEYROT_ACCESS_KEY_ID'),
});
const pushesTo = (user: string) =>
  github.requests.filter((r) => r.method !== 'GET' && r.path.startsWith(`/repos/acme/${user}/`)).length;
const current = async (user: string) => stageValue(clients, `keyrot/${user}`, 'AWSCURRENT');

async function respond(keyId: string, options: { deleteExposed?: boolean } = {}) {
  const event = eventFor(keyId);
  const outcomes = await respondToLeak(deps(), config, event, options);
  const [outcome] = outcomes;
  if (outcome === undefined) throw new Error('no outcome for the exposed key');
  const alerts = leakAlerts(event, outcomes);
  const text = alerts.map((a) => [a.title, ...a.lines, ...a.nextSteps].join('\n')).join('\n');
  // No key material in what people read: neither the new key's secret nor anything shaped like one.
  const user = 'userName' in outcome ? outcome.userName : undefined;
  const values = user
    ? await Promise.all(
        ['AWSCURRENT', 'AWSPENDING'].map((stage) => stageValue(clients, `keyrot/${user}`, stage)),
      )
    : [];
  assertNoKeyMaterial(
    text,
    values.map((v) => v?.SecretAccessKey ?? ''),
  );
  return { outcome, text };
}

/** Onboards the user (its first rotation, which GitHub received); the key from before keyrot stays. */
async function onboard(user: string): Promise<string> {
  const first = await rotateUser(deps(), config, user);
  expect(githubHolds(user).AccessKeyId).toBe(first.accessKeyId);
  return first.accessKeyId;
}

beforeAll(async () => {
  github = await startGithubFake({ token: TOKEN, repositories: USERS.map((u) => `acme/${u}`) });
  await clients.secrets.send(new CreateSecretCommand({ Name: 'keyrot-tokens/github', SecretString: TOKEN }));
  const keys = await seedUsers(
    clients.iam,
    endpoint(),
    USERS.map((userName) => ({ userName, path: '/machine/', tags: { owner: 't' }, keys: [{ used: true }] })),
  );
  for (const key of keys) seeded[key.userName] = key.accessKeyId;
  config = parseConfig(
    {
      users: Object.fromEntries(
        USERS.map((u) => [
          u,
          {
            targets: [
              {
                type: 'github-actions',
                name: 'ci-repo',
                repository: `acme/${u}`,
                tokenSecretId: 'keyrot-tokens/github',
                apiUrl: github.url,
              },
            ],
          },
        ]),
      ),
    },
    'test',
  );
});

afterAll(async () => {
  await github?.close();
});

describe('the leak response with a GitHub Actions target, on moto', () => {
  it('pushes the new key to GitHub, then takes every old key out; the same event again changes nothing', async () => {
    // Prepare: keyrot manages the user; its key from before keyrot is still Active (AWSPREVIOUS).
    const exposed = await onboard('gh-managed');
    expect(await keyIds(clients, 'gh-managed')).toEqual(
      expect.arrayContaining([
        { id: seeded['gh-managed'], status: 'Active' },
        { id: exposed, status: 'Active' },
      ]),
    );

    // Act: AWS reports AWSCURRENT's key exposed.
    const { outcome, text } = await respond(exposed);

    // Assess: GitHub holds AWSCURRENT's new key (secret id, secret key, fingerprint), which works.
    const now = await expectConverged(clients, endpoint(), 'gh-managed', arnOf('gh-managed'), []);
    expect(now.AccessKeyId).not.toBe(exposed);
    expect(githubHolds('gh-managed')).toEqual({
      AccessKeyId: now.AccessKeyId,
      SecretAccessKey: now.SecretAccessKey,
      fingerprint: now.AccessKeyId,
    });
    // The exposed key is Inactive; the key from before keyrot was taken out for room (deactivated,
    // then deleted); the new key is the only active one.
    expect(await keyIds(clients, 'gh-managed')).toEqual([
      { id: exposed, status: 'Inactive' },
      { id: now.AccessKeyId, status: 'Active' },
    ]);
    expect(outcome).toEqual({
      accessKeyId: exposed,
      outcome: 'rotated',
      userName: 'gh-managed',
      newKeyId: now.AccessKeyId,
      onboarded: false,
      deactivated: [seeded['gh-managed'], exposed],
      deleted: [seeded['gh-managed']],
      targetsUpdated: ['ci-repo'],
    });
    expect(text).toContain(
      `${now.AccessKeyId} is AWSCURRENT in the user's secret, and ci-repo received it and proved it holds it.`,
    );
    expect(text).toContain(
      `Deactivated: ${seeded['gh-managed']}, ${exposed}; deleted: ${seeded['gh-managed']}.`,
    );
    // What leaked and when AWS reported it (the sample event's startTime), and what is left for a person.
    expect(text).toContain(
      `gh-managed's key ${exposed} was exposed in public (AWS reported it 2026-11-20T06:20:09.000Z).`,
    );
    expect(text).toContain(
      `aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=${exposed}`,
    );
    expect(text).toContain(
      'aws iam detach-user-policy --user-name gh-managed --policy-arn arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3. keyrot never detaches policies.',
    );

    // Act: AWS sends the same event again.
    const pushes = pushesTo('gh-managed');
    const keysBefore = await keyIds(clients, 'gh-managed');
    const again = await respond(exposed);

    // Assess: already handled; no push to GitHub, no key changed, the same key current.
    expect(again.outcome).toMatchObject({ outcome: 'already-handled', userName: 'gh-managed' });
    expect(again.text).toContain(`keyrot: gh-managed's key ${exposed} leaked; already handled`);
    expect(pushesTo('gh-managed')).toBe(pushes);
    expect(await keyIds(clients, 'gh-managed')).toEqual(keysBefore);
    expect((await current('gh-managed'))?.AccessKeyId).toBe(now.AccessKeyId);
    expect(githubHolds('gh-managed').AccessKeyId).toBe(now.AccessKeyId);
  });

  it('deletes the exposed key with deleteExposed, once GitHub holds the new key; again: already handled', async () => {
    const exposed = await onboard('gh-delete');
    const { outcome } = await respond(exposed, { deleteExposed: true });
    const now = await expectConverged(clients, endpoint(), 'gh-delete', arnOf('gh-delete'), []);
    expect(outcome).toMatchObject({
      outcome: 'rotated',
      newKeyId: now.AccessKeyId,
      targetsUpdated: ['ci-repo'],
    });
    expect(githubHolds('gh-delete').AccessKeyId).toBe(now.AccessKeyId);
    expect(await keyIds(clients, 'gh-delete')).toEqual([{ id: now.AccessKeyId, status: 'Active' }]);

    // AWS sends the same event again: IAM no longer knows the key, but the note the response left on
    // the secret names its user: already handled, nothing pushed, nothing changed.
    const tags = await clients.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/gh-delete' }));
    expect(tags.Tags?.map((t) => t.Key)).toContain(`keyrot:leaked:${exposed}`);
    const pushes = pushesTo('gh-delete');
    const again = await respond(exposed, { deleteExposed: true });
    expect(again.outcome).toMatchObject({
      outcome: 'already-handled',
      userName: 'gh-delete',
      detail: expect.stringMatching(/^keyrot deleted the key at \d{4}-/),
    });
    expect(again.text).toContain(`keyrot: gh-delete's key ${exposed} leaked; already handled`);
    // A key no response deleted, and IAM doesn't know: not found, as before.
    const unknown = await respond('AKIAUNKNOWN000000000');
    expect(unknown.outcome).toMatchObject({ outcome: 'unknown' });
    expect(pushesTo('gh-delete')).toBe(pushes);
    expect(await keyIds(clients, 'gh-delete')).toEqual([{ id: now.AccessKeyId, status: 'Active' }]);
    expect((await current('gh-delete'))?.AccessKeyId).toBe(now.AccessKeyId);
  });

  it.each([
    ['gh-503', 503, '{"message":"Service Unavailable"}', 'HTTP 503'],
    ['gh-422', 422, '{"message":"Invalid request."}', 'HTTP 422'],
  ])(
    '%s: GitHub refuses the push (%i): the exposed key stays Active and current, and the alert says so',
    async (user, status, body, shown) => {
      // Prepare: a managed user whose key from before keyrot is gone, as retirement leaves it.
      const exposed = await onboard(user);
      await clients.iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: seeded[user] }));
      github.fail({ status, body }, { times: 1_000, when: (r) => r.path.startsWith(`/repos/acme/${user}/`) });

      // Act
      const { outcome, text } = await respond(exposed);

      // Assess: the response failed; GitHub's consumers still hold the exposed key, which is still
      // Active and AWSCURRENT; its replacement waits as AWSPENDING, held by no target.
      const pending = await stageValue(clients, `keyrot/${user}`, 'AWSPENDING');
      expect(pending?.AccessKeyId).toBeDefined();
      expect(outcome).toMatchObject({
        outcome: 'failed',
        userName: user,
        after: {
          currentKeyId: exposed,
          pendingKeyId: pending?.AccessKeyId,
          targetsWithNewKey: [],
          targetsWithoutNewKey: ['ci-repo'],
        },
      });
      expect(await keyIds(clients, user)).toEqual([
        { id: exposed, status: 'Active' },
        { id: pending?.AccessKeyId, status: 'Active' },
      ]);
      expect((await current(user))?.AccessKeyId).toBe(exposed);
      expect(githubHolds(user).AccessKeyId).toBe(exposed);
      await expectConverged(clients, endpoint(), user, arnOf(user), [pending?.AccessKeyId ?? '']);
      // The alert says exactly that.
      expect(text).toContain(
        `keyrot: ${user}'s key ${exposed} leaked; the response failed and the key is still active`,
      );
      expect(text).toContain(`github-actions target "ci-repo": ${shown}`);
      expect(text).toContain(
        `${exposed} is still Active and AWSCURRENT: keyrot takes an exposed key out only once every target holds its replacement`,
      );
      expect(text).toContain(
        `Its replacement ${pending?.AccessKeyId} is stored as AWSPENDING, not current yet. Targets holding it: none; not yet: ci-repo.`,
      );
      expect(text).toContain(
        `${user}'s keys now: ${exposed} Active (AWSCURRENT), ${pending?.AccessKeyId} Active (AWSPENDING).`,
      );
      expect(text).toContain(
        `aws iam update-access-key --user-name ${user} --access-key-id ${exposed} --status Inactive`,
      );

      // Act: GitHub recovers; the event comes again (Lambda's retry, or AWS's duplicate).
      github.clearFaults();
      const retry = await respond(exposed);

      // Assess: the same replacement is made current, GitHub holds it, the exposed key is Inactive.
      const now = await expectConverged(clients, endpoint(), user, arnOf(user), []);
      expect(now.AccessKeyId).toBe(pending?.AccessKeyId);
      expect(retry.outcome).toMatchObject({
        outcome: 'rotated',
        newKeyId: now.AccessKeyId,
        targetsUpdated: ['ci-repo'],
      });
      expect(githubHolds(user).AccessKeyId).toBe(now.AccessKeyId);
      expect(await keyIds(clients, user)).toEqual([
        { id: exposed, status: 'Inactive' },
        { id: now.AccessKeyId, status: 'Active' },
      ]);
    },
  );

  it('onboards a machine user keyrot did not manage yet, and its GitHub target receives the new key', async () => {
    const exposed = seeded['gh-new'] ?? '';
    await expect(
      clients.secrets.send(new DescribeSecretCommand({ SecretId: 'keyrot/gh-new' })),
    ).rejects.toThrow();

    const { outcome, text } = await respond(exposed);

    const now = await expectConverged(clients, endpoint(), 'gh-new', arnOf('gh-new'), [exposed]);
    expect(outcome).toEqual({
      accessKeyId: exposed,
      outcome: 'rotated',
      userName: 'gh-new',
      newKeyId: now.AccessKeyId,
      onboarded: true,
      deactivated: [exposed],
      deleted: [],
      targetsUpdated: ['ci-repo'],
    });
    expect(githubHolds('gh-new')).toEqual({
      AccessKeyId: now.AccessKeyId,
      SecretAccessKey: now.SecretAccessKey,
      fingerprint: now.AccessKeyId,
    });
    expect(await keyIds(clients, 'gh-new')).toEqual([
      { id: exposed, status: 'Inactive' },
      { id: now.AccessKeyId, status: 'Active' },
    ]);
    expect(text).toContain('keyrot onboarded the user and rotated it');
  });
});
