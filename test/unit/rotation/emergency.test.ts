import { CreateAccessKeyCommand, DeleteAccessKeyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../lib/config.js';
import { KeyrotError, UsageError } from '../../../lib/errors.js';
import { emergencyRotate } from '../../../lib/rotation/emergency.js';
import type { Target } from '../../../lib/targets/port.js';
import { awsModel, credentialOf, MODEL_SECRET_ARN, MODEL_USER_ARN } from '../../helpers/aws-model.js';
import { fakeTarget, mockDeps, START } from '../../helpers/rotation-mocks.js';

const aws = awsModel();
const config = defaultConfig;
const CUR = 'AKIACUR0000000000000';
const OLD = 'AKIAOLD0000000000000';
const NEW = 'AKIAMODEL00000000001';
const today = new Date(START.getTime() - 3_600_000);

beforeEach(() => {
  aws.install();
  aws.state.user = { name: 'ci', arn: MODEL_USER_ARN, path: '/machine/' };
  aws.state.keys = [];
  aws.state.secret = undefined;
  aws.state.nextKey = 1;
  aws.state.failOnce.clear();
});

const deactivations = () =>
  aws.iam
    .commandCalls(UpdateAccessKeyCommand)
    .map((c) => `${c.args[0].input.AccessKeyId} ${c.args[0].input.Status}`);
const deletions = () => aws.iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

/** A target whose receiver is gone for good (a webhook that answered 410): its record says disabled. */
const goneTarget = (name: string): Target => {
  const { target } = fakeTarget(name);
  return { ...target, push: async () => ({ outcome: 'disabled', reason: 'HTTP 410 Gone' }) };
};

/** Runs `change` on the model's secret right after the emergency's rotation records its cut-over. */
const afterCutover = (change: (tags: Record<string, string>) => void) =>
  aws.secrets
    .on(TagResourceCommand)
    .callsFake((input: { Tags?: Array<{ Key?: string; Value?: string }> }) => {
      const secret = aws.state.secret;
      if (secret === undefined) return {};
      for (const t of input.Tags ?? []) secret.tags[t.Key ?? ''] = t.Value ?? '';
      if (input.Tags?.some((t) => t.Key === 'keyrot:cutover')) change(secret.tags);
      return {};
    });

describe('emergencyRotate (a compromised key)', () => {
  it('rotates, then deactivates the old key at once although it is in use; the new key stays', async () => {
    // Prepare
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const { deps } = mockDeps();
    // Act
    const result = await emergencyRotate(deps, config, 'ci');
    // Assess
    expect(result).toMatchObject({ accessKeyId: NEW, clearedForRoom: [], deactivated: [CUR], deleted: [] });
    expect(deactivations()).toEqual([`${CUR} Inactive`]);
    expect(deletions()).toEqual([]);
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
    expect(aws.key(NEW)).toMatchObject({ status: 'Active' });
    expect(aws.key(CUR)).toMatchObject({ status: 'Inactive' });
  });

  it('with deleteOld, deletes the old keys too', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci', { deleteOld: true });
    expect(result).toMatchObject({ deactivated: [CUR], deleted: [CUR] });
    expect(aws.state.keys.map((k) => k.id)).toEqual([NEW]);
  });

  it('with no free slot, clears the key that is not AWSCURRENT first (deactivate, then delete)', async () => {
    aws.addKey(OLD, { lastUsed: today });
    aws.addKey(CUR, { lastUsed: today, created: START });
    aws.addSecret(
      { V1: [OLD, ['AWSPREVIOUS']], V2: [CUR, ['AWSCURRENT']] },
      { 'keyrot:cutover': 'V2 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result).toMatchObject({ clearedForRoom: [OLD], deactivated: [CUR], accessKeyId: NEW });
    expect(deactivations()).toEqual([`${OLD} Inactive`, `${CUR} Inactive`]);
    expect(deletions()).toEqual([OLD]);
    // The clearing happened before the new key was made.
    const order = aws.iam
      .calls()
      .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    expect(order.indexOf('DeleteAccessKeyCommand')).toBeLessThan(order.indexOf('CreateAccessKeyCommand'));
    expect(order.indexOf('DeleteAccessKeyCommand')).toBeGreaterThan(-1);
  });

  it('clears an inactive key before an active one that is not current', async () => {
    aws.addKey(OLD, { lastUsed: today });
    aws.addKey('AKIAINACT00000000000', { status: 'Inactive', created: START });
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result.clearedForRoom).toEqual(['AKIAINACT00000000000']);
    expect(result.deactivated).toEqual([OLD]);
    expect(aws.state.keys.map((k) => `${k.id} ${k.status}`)).toEqual([`${OLD} Inactive`, `${NEW} Active`]);
  });

  it('for a user keyrot has not onboarded with two active keys, clears the leaked key it is told of', async () => {
    aws.addKey(OLD, { lastUsed: today });
    aws.addKey(CUR, { lastUsed: today, created: START });
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci', { leakedKeyId: CUR });
    expect(result).toMatchObject({ clearedForRoom: [CUR], deactivated: [OLD], onboarded: true });
    expect(deletions()).toEqual([CUR]);
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
  });

  it('refuses to guess which of two active keys leaked, changing nothing and creating no secret', async () => {
    aws.addKey(OLD, { lastUsed: today });
    aws.addKey(CUR, { lastUsed: today, created: START });
    const { deps } = mockDeps();
    const error = await emergencyRotate(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `ci holds two keys (${OLD}, ${CUR}) and keyrot can't tell which one leaked, so it can't choose which to delete for the new key. Name it: keyrot rotate --user ci --compromised --key ACCESS_KEY_ID. Nothing was changed.`,
    );
    expect(deactivations()).toEqual([]);
    expect(aws.secrets).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it('refuses a --key that is not a key of the user, naming its keys', async () => {
    aws.addKey(OLD);
    const { deps } = mockDeps();
    await expect(
      emergencyRotate(deps, config, 'ci', { leakedKeyId: 'AKIANOTHERS000000000' }),
    ).rejects.toThrow(new UsageError(`--key AKIANOTHERS000000000 is not a key of ci (its keys: ${OLD}).`));
    aws.state.keys = [];
    await expect(
      emergencyRotate(deps, config, 'ci', { leakedKeyId: 'AKIANOTHERS000000000' }),
    ).rejects.toThrow('(its keys: none)');
    expect(aws.iam).not.toHaveReceivedCommand(CreateAccessKeyCommand);
  });

  it('refuses a user outside the machine path', async () => {
    aws.state.user = { name: 'ci', arn: 'arn:aws:iam::123456789012:user/ci', path: '/' };
    aws.addKey(OLD);
    const { deps } = mockDeps();
    await expect(emergencyRotate(deps, config, 'ci')).rejects.toThrow(/not a machine user/);
    expect(deactivations()).toEqual([]);
  });

  it('resuming an unfinished rotation makes no room first, and keeps the pending key', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addKey('AKIAPEND000000000000', { created: START });
    aws.addSecret(
      { V1: [CUR, ['AWSCURRENT']], T9: ['AKIAPEND000000000000', ['AWSPENDING']] },
      { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' },
    );
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result).toMatchObject({ resumed: true, clearedForRoom: [], accessKeyId: 'AKIAPEND000000000000' });
    expect(result.deactivated).toEqual([CUR]);
    expect(deletions()).toEqual([]);
    expect(aws.key('AKIAPEND000000000000')).toMatchObject({ status: 'Active' });
  });

  it('deactivates nothing when AWSCURRENT moved away from the new key under it', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    // A rollback runs right after the rotation records its cut-over: AWSCURRENT is back on V1.
    aws.secrets
      .on(TagResourceCommand)
      .callsFake((input: { Tags?: Array<{ Key?: string; Value?: string }> }) => {
        const secret = aws.state.secret;
        if (secret === undefined) return {};
        for (const t of input.Tags ?? []) secret.tags[t.Key ?? ''] = t.Value ?? '';
        if (input.Tags?.some((t) => t.Key === 'keyrot:cutover')) {
          for (const v of secret.versions.values()) v.stages = v.stages.filter((x) => x !== 'AWSCURRENT');
          secret.versions.get('V1')?.stages.push('AWSCURRENT');
        }
        return {};
      });
    const { deps } = mockDeps();
    const error = await emergencyRotate(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyrotError);
    expect((error as Error).message).toMatch(
      /moved away from the new key AKIAMODEL00000000001 .* no old key was deactivated/,
    );
    expect(deactivations()).toEqual([]);
  });

  it('names every key of the user when --key is none of them', async () => {
    aws.addKey(OLD);
    aws.addKey(CUR, { created: START });
    const { deps } = mockDeps();
    await expect(
      emergencyRotate(deps, config, 'ci', { leakedKeyId: 'AKIANOTHERS000000000' }),
    ).rejects.toThrow(`(its keys: ${OLD}, ${CUR}).`);
  });

  it('for a user keyrot has not onboarded, the key guard looks the secret up by its name', async () => {
    aws.addKey(OLD, { lastUsed: today });
    aws.addKey(CUR, { lastUsed: today, created: START });
    const { deps } = mockDeps();
    await emergencyRotate(deps, config, 'ci', { leakedKeyId: CUR });
    const ids = aws.secrets.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input.SecretId);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.filter((id) => id !== 'keyrot/ci' && id !== MODEL_SECRET_ARN)).toEqual([]);
  });

  it('keeps the key of a rotation that started right after its cut-over (AWSPENDING on another version)', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    // Right after the emergency records its cut-over, another rotation stores its key as AWSPENDING.
    aws.secrets
      .on(TagResourceCommand)
      .callsFake((input: { Tags?: Array<{ Key?: string; Value?: string }> }) => {
        const secret = aws.state.secret;
        if (secret === undefined) return {};
        for (const t of input.Tags ?? []) secret.tags[t.Key ?? ''] = t.Value ?? '';
        if (input.Tags?.some((t) => t.Key === 'keyrot:cutover') && !secret.versions.has('T9')) {
          for (const v of secret.versions.values()) v.stages = v.stages.filter((x) => x !== 'AWSPENDING');
          aws.addKey('AKIANEXT000000000000', { created: START });
          secret.versions.set('T9', { value: credentialOf('AKIANEXT000000000000'), stages: ['AWSPENDING'] });
        }
        return {};
      });
    const { deps } = mockDeps();
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result.deactivated).toEqual([CUR]);
    expect(aws.key('AKIANEXT000000000000')).toMatchObject({ status: 'Active' });
    expect(deactivations()).toEqual([`${CUR} Inactive`]);
  });
  it('names the targets that received and proved the new key, not one whose receiver is gone', async () => {
    // Prepare
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    const repo = fakeTarget('ci-repo');
    const { deps } = mockDeps([repo.target, goneTarget('ci-hook')]);
    // Act
    const result = await emergencyRotate(deps, config, 'ci');
    // Assess
    expect(result).toMatchObject({ accessKeyId: NEW, deactivated: [CUR], targetsUpdated: ['ci-repo'] });
    expect(repo.pushed).toEqual([NEW]);
    expect(repo.verified).toEqual([NEW]);
    expect(aws.state.secret?.tags['keyrot:target:ci-repo']).toMatch(new RegExp(`^${NEW} `));
    expect(aws.state.secret?.tags['keyrot:target:ci-hook']).toMatch(/^disabled - /);
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
    expect(aws.key(CUR)).toMatchObject({ status: 'Inactive' });
  });

  it('names no target a rotation started after its cut-over has since pushed its own key to', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    afterCutover((tags) => {
      const secret = aws.state.secret;
      if (secret === undefined || secret.versions.has('T9')) return;
      // The next rotation stores its key as AWSPENDING and pushes it to the target (setSecret).
      for (const v of secret.versions.values()) v.stages = v.stages.filter((x) => x !== 'AWSPENDING');
      aws.addKey('AKIANEXT000000000000', { created: START });
      secret.versions.set('T9', { value: credentialOf('AKIANEXT000000000000'), stages: ['AWSPENDING'] });
      tags['keyrot:target:ci-repo'] = `AKIANEXT000000000000 T9 ${START.toISOString()}`;
    });
    const repo = fakeTarget('ci-repo');
    const { deps } = mockDeps([repo.target]);
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result).toMatchObject({ accessKeyId: NEW, deactivated: [CUR], targetsUpdated: [] });
    expect(repo.pushed).toEqual([NEW]);
    expect(aws.key('AKIANEXT000000000000')).toMatchObject({ status: 'Active' });
    expect(aws.key(NEW)).toMatchObject({ status: 'Active' });
  });

  it('still reports what it did when a target’s record was removed by hand under it, naming no target', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    afterCutover((tags) => {
      delete tags['keyrot:target:ci-repo'];
    });
    const repo = fakeTarget('ci-repo');
    const { deps } = mockDeps([repo.target]);
    const result = await emergencyRotate(deps, config, 'ci');
    expect(result).toMatchObject({ accessKeyId: NEW, deactivated: [CUR], targetsUpdated: [] });
    expect(repo.pushed).toEqual([NEW]);
    expect(aws.keyAt('AWSCURRENT')).toBe(NEW);
    expect(aws.key(CUR)).toMatchObject({ status: 'Inactive' });
  });

  it('deactivates nothing when the secret was deleted under it after the rotation', async () => {
    aws.addKey(CUR, { lastUsed: today });
    aws.addSecret({ V1: [CUR, ['AWSCURRENT']] }, { 'keyrot:cutover': 'V1 2026-05-01T00:00:00.000Z' });
    afterCutover(() => {
      aws.state.secret = undefined;
    });
    const { deps } = mockDeps();
    const error = await emergencyRotate(deps, config, 'ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyrotError);
    expect((error as Error).message).toMatch(
      /^AWSCURRENT of keyrot\/ci moved away from the new key AKIAMODEL00000000001 .* no old key was deactivated/,
    );
    expect(deactivations()).toEqual([]);
    expect(aws.state.keys.map((k) => `${k.id} ${k.status}`)).toEqual([`${CUR} Active`, `${NEW} Active`]);
  });
});
