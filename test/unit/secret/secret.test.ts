import { createHash } from 'node:crypto';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { KeyrotError } from '../../../lib/errors.js';
import {
  cancelPending,
  createSecretInput,
  datesFromTags,
  derivedToken,
  formatIntent,
  LIFECYCLE_TAG,
  toSnapshot,
  unfinishedToken,
} from '../../../lib/secret/secret.js';
import { parseSecretValue, readCredential, readVersion } from '../../../lib/secret/value.js';
import { awsError } from '../../helpers/aws-errors.js';
import { credential, describeOutput } from '../../helpers/rotation-mocks.js';

describe('unfinishedToken', () => {
  it.each([
    ['no versions', {}, undefined, undefined],
    ['a finished rotation', { A: ['AWSPREVIOUS'], B: ['AWSCURRENT', 'AWSPENDING'] }, 'B', undefined],
    ['a pending version that is not current', { A: ['AWSCURRENT'], B: ['AWSPENDING'] }, 'A', 'B'],
    [
      'a first version, current but its cut-over never recorded',
      { A: ['AWSCURRENT', 'AWSPENDING'] },
      undefined,
      'A',
    ],
    ['a hand-made current version', { A: ['AWSCURRENT'] }, undefined, undefined],
    [
      'a pending version that is not current, though the cut-over names it (AWSCURRENT moved back)',
      { A: ['AWSCURRENT'], B: ['AWSPENDING'] },
      'B',
      'B',
    ],
  ])('%s', (_name, versions, cutover, expected) => {
    expect(unfinishedToken(toSnapshot(describeOutput(versions, cutover ? { cutover } : {})))).toBe(expected);
  });
});

describe('derivedToken', () => {
  it('is the same for the same state, changes when the state moves on, and is a valid request token', () => {
    const before = toSnapshot(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }));
    const after = toSnapshot(describeOutput({ A: ['AWSPREVIOUS'], B: ['AWSCURRENT'] }, { cutover: 'B' }));
    expect(derivedToken(before)).toBe(
      derivedToken(toSnapshot(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }))),
    );
    expect(derivedToken(after)).not.toBe(derivedToken(before));
    expect(derivedToken(before)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('changes when a rotation was cancelled (abandoned or restarted), and with each cancellation', () => {
    // The cancelled version keeps its value under its token: the next rotation must not pick it again.
    const cancelled = (value: string) =>
      toSnapshot({
        ...describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }),
        Tags: [
          ...(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' }).Tags ?? []),
          { Key: 'keyrot:cancelled', Value: value },
        ],
      });
    const plain = derivedToken(toSnapshot(describeOutput({ A: ['AWSCURRENT'] }, { cutover: 'A' })));
    const once = derivedToken(cancelled('T1 2026-06-01T12:00:00.000Z'));
    expect(once).not.toBe(plain);
    expect(derivedToken(cancelled('T1 2026-06-01T12:00:00.000Z'))).toBe(once);
    expect(derivedToken(cancelled('T2 2026-06-02T12:00:00.000Z'))).not.toBe(once);
  });
});

describe('cancelPending', () => {
  /** A client that records what it is sent, failing the commands named in `failing`. */
  const recorder = (failing: Record<string, Error> = {}) => {
    const sent: { command: string; input: unknown }[] = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        const name = command.constructor.name;
        sent.push({ command: name, input: command.input });
        if (failing[name]) throw failing[name];
        return {};
      },
    } as unknown as SecretsManagerClient;
    return { client, sent };
  };

  it('records the cancellation, then takes AWSPENDING off the version, and nothing else', async () => {
    const { client, sent } = recorder();
    await cancelPending(client, 'arn:s', 'T1', new Date('2026-06-01T12:00:00Z'));
    expect(sent).toEqual([
      {
        command: TagResourceCommand.name,
        input: {
          SecretId: 'arn:s',
          Tags: [{ Key: 'keyrot:cancelled', Value: 'T1 2026-06-01T12:00:00.000Z' }],
        },
      },
      {
        command: UpdateSecretVersionStageCommand.name,
        input: { SecretId: 'arn:s', VersionStage: 'AWSPENDING', RemoveFromVersionId: 'T1' },
      },
    ]);
  });

  it('takes no label off when the record could not be written', async () => {
    const { client, sent } = recorder({ [TagResourceCommand.name]: awsError('ThrottlingException') });
    await expect(
      cancelPending(client, 'arn:s', 'T1', new Date('2026-06-01T12:00:00Z')),
    ).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    expect(sent.map((c) => c.command)).toEqual([TagResourceCommand.name]);
  });
});

describe('parseSecretValue', () => {
  it('reads a keyrot credential and refuses anything else without echoing it', () => {
    expect(parseSecretValue(credential('AKIAEXAMPLE000000000'))).toMatchObject({
      Version: 1,
      AccessKeyId: 'AKIAEXAMPLE000000000',
    });
    expect(parseSecretValue('{"password":"hunter2"}')).toBeUndefined();
    expect(parseSecretValue('not json')).toBeUndefined();
    expect(parseSecretValue(undefined)).toBeUndefined();
  });
});

describe('the secret’s records, exactly', () => {
  it('names the lifecycle tags per key', () => {
    expect(LIFECYCLE_TAG.deactivated('AKIA1')).toBe('keyrot:deactivated:AKIA1');
    expect(LIFECYCLE_TAG.inactiveSeen('AKIA1')).toBe('keyrot:inactive-seen:AKIA1');
  });

  it('reads dates from tags under a prefix only, skipping unreadable ones', () => {
    expect(
      datesFromTags(
        {
          'keyrot:deactivated:AKIA1': '2026-06-01T00:00:00.000Z',
          'keyrot:deactivated:AKIA2': 'yesterday',
          'x-keyrot:deactivated:AKIA3': '2026-06-01T00:00:00.000Z',
          'keyrot:inactive-seen:AKIA4': '2026-06-01T00:00:00.000Z',
        },
        'keyrot:deactivated:',
      ),
    ).toEqual({ AKIA1: new Date('2026-06-01T00:00:00.000Z') });
  });

  it('builds the onboarding input, with the KMS key only when configured', () => {
    const base = { secretPrefix: 'keyrot/' };
    expect(createSecretInput(base, 'ci', 'arn:u')).toEqual({
      Name: 'keyrot/ci',
      Description: 'Access key of the IAM machine user ci, rotated by keyrot',
      Tags: [
        { Key: 'keyrot:user', Value: 'ci' },
        { Key: 'keyrot:user-arn', Value: 'arn:u' },
      ],
    });
    expect(createSecretInput({ ...base, secretKmsKeyId: 'arn:k' }, 'ci', 'arn:u')).toMatchObject({
      KmsKeyId: 'arn:k',
    });
  });

  it('reads a DescribeSecret answer, defaulting what is missing', () => {
    expect(toSnapshot({ $metadata: {} })).toEqual({
      arn: '',
      name: '',
      rotationEnabled: false,
      versions: new Map(),
      tags: {},
    });
    expect(toSnapshot({ $metadata: {}, Tags: [{}, { Key: 'k' }] }).tags).toEqual({ '': '', k: '' });
  });

  it.each([
    [
      'T 1780000000 AKIA1+AKIA2',
      { token: 'T', at: new Date(1_780_000_000_000), knownKeyIds: ['AKIA1', 'AKIA2'] },
    ],
    [
      'T 1780000000 AKIA1,AKIA2',
      { token: 'T', at: new Date(1_780_000_000_000), knownKeyIds: ['AKIA1', 'AKIA2'] },
    ],
    ['T 1780000000 -', { token: 'T', at: new Date(1_780_000_000_000), knownKeyIds: [] }],
    ['T 1780000000', undefined],
    ['T x1780000000 -', undefined],
    ['T 1780000000x -', undefined],
    [' 1780000000 -', undefined],
  ])('parses the intent %j', (value, intent) => {
    const snapshot = toSnapshot(describeOutput({}, { tags: false }));
    const parsed = toSnapshot({ ...describeOutputWith('keyrot:intent', value) });
    expect(snapshot.intent).toBeUndefined();
    expect(parsed.intent).toEqual(intent);
  });

  it('writes the intent it parses', () => {
    const intent = { token: 'T', at: new Date(1_780_000_000_000), knownKeyIds: ['AKIA1', 'AKIA2'] };
    expect(formatIntent(intent)).toBe('T 1780000000 AKIA1+AKIA2');
    expect(formatIntent({ ...intent, knownKeyIds: [] })).toBe('T 1780000000 -');
  });

  it.each([
    ['V1 2026-05-01T00:00:00.000Z', { versionId: 'V1', at: new Date('2026-05-01T00:00:00.000Z') }],
    ['V1 not-a-date', undefined],
    ['V1', undefined],
    [' 2026-05-01T00:00:00.000Z', undefined],
  ])('parses the cut-over %j', (value, cutover) => {
    expect(toSnapshot(describeOutputWith('keyrot:cutover', value)).cutover).toEqual(cutover);
  });

  it('derives the token from the ARN, AWSCURRENT and the cut-over record, with "-" for what is missing', () => {
    const snapshot = toSnapshot({ $metadata: {}, ARN: 'arn:s' });
    const hex = createHash('sha256').update('arn:s|-|-').digest('hex');
    expect(derivedToken(snapshot)).toBe(
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
    );
  });

  it('derives the token with the cancellation record appended when there is one', () => {
    const snapshot = toSnapshot(describeOutputWith('keyrot:cancelled', 'T1 2026-06-01T12:00:00.000Z'));
    const hex = createHash('sha256').update('arn:s|-|-|T1 2026-06-01T12:00:00.000Z').digest('hex');
    expect(derivedToken(snapshot)).toBe(
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
    );
  });
});

function describeOutputWith(key: string, value: string) {
  return { $metadata: {}, ARN: 'arn:s', Name: 'keyrot/ci', Tags: [{ Key: key, Value: value }] };
}

describe('reading versions', () => {
  const secrets = mockClient(SecretsManagerClient);
  const client = new SecretsManagerClient({});

  it('readCredential: undefined without a version id or a value; an error for anything that is not keyrot’s', async () => {
    secrets.reset();
    await expect(readCredential(client, 'S', undefined)).resolves.toBeUndefined();
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
    secrets.on(GetSecretValueCommand, { VersionId: 'none' }).rejects(awsError('ResourceNotFoundException'));
    secrets.on(GetSecretValueCommand, { VersionId: 'garbage' }).resolves({ SecretString: 'x' });
    secrets.on(GetSecretValueCommand, { VersionId: 'denied' }).rejects(awsError('AccessDeniedException'));
    secrets
      .on(GetSecretValueCommand, { VersionId: 'ok' })
      .resolves({ SecretString: credential('AKIAEXAMPLE000000000') });
    await expect(readCredential(client, 'S', 'none')).resolves.toBeUndefined();
    await expect(readCredential(client, 'S', 'garbage')).rejects.toThrow(
      new KeyrotError('Version garbage of S does not hold a keyrot credential.'),
    );
    await expect(readCredential(client, 'S', 'denied')).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(readCredential(client, 'S', 'ok')).resolves.toMatchObject({
      AccessKeyId: 'AKIAEXAMPLE000000000',
    });
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'S', VersionId: 'ok' });
  });

  it('readVersion: names what a version holds without judging it', async () => {
    secrets.reset();
    secrets.on(GetSecretValueCommand, { VersionId: 'none' }).rejects(awsError('ResourceNotFoundException'));
    secrets.on(GetSecretValueCommand, { VersionId: 'garbage' }).resolves({ SecretString: 'x' });
    secrets.on(GetSecretValueCommand, { VersionId: 'denied' }).rejects(awsError('AccessDeniedException'));
    await expect(readVersion(client, 'S', 'none')).resolves.toEqual({ versionId: 'none', kind: 'empty' });
    await expect(readVersion(client, 'S', 'garbage')).resolves.toEqual({
      versionId: 'garbage',
      kind: 'foreign',
    });
    await expect(readVersion(client, 'S', 'denied')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('parseSecretValue: only a whole access key id of capitals and digits', () => {
    const with_ = (id: string) =>
      JSON.stringify({ ...JSON.parse(credential('AKIAEXAMPLE000000000')), AccessKeyId: id });
    expect(parseSecretValue(with_('AKIAEXAMPLE0000'))).toBeUndefined();
    expect(parseSecretValue(with_('AKIAEXAMPLE000000000 '))).toBeUndefined();
    expect(parseSecretValue(with_(' AKIAEXAMPLE000000000'))).toBeUndefined();
    expect(parseSecretValue(with_('akiaexample000000000'))).toBeUndefined();
    expect(parseSecretValue(with_('A'.repeat(128)))).toMatchObject({ AccessKeyId: 'A'.repeat(128) });
    expect(parseSecretValue(with_('A'.repeat(129)))).toBeUndefined();
  });
});
