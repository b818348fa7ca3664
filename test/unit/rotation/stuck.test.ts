import {
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { unfinishedRotation } from '../../../lib/rotation/stuck.js';
import { toSnapshot } from '../../../lib/secret/secret.js';
import { ARN, describeOutput } from '../../helpers/rotation-mocks.js';

const secrets = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({});
const MADE = new Date('2026-06-01T06:00:00Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(MADE.getTime() + ms);

/** A secret with OLD current in V1 and an unfinished rotation's AWSPENDING version T. */
const pendingSnapshot = () =>
  toSnapshot(describeOutput({ V1: ['AWSCURRENT'], T: ['AWSPENDING'] }, { cutover: 'V1' }));

/** ListSecretVersionIds answering these pages in turn (NextToken "1", "2", ...). */
function pages(...lists: ListSecretVersionIdsCommandOutput['Versions'][]) {
  secrets.on(ListSecretVersionIdsCommand).callsFake((input: { NextToken?: string }) => {
    const index = Number(input.NextToken ?? 0);
    return {
      ...(lists[index] === undefined ? {} : { Versions: lists[index] }),
      ...(index + 1 < lists.length ? { NextToken: String(index + 1) } : {}),
    };
  });
}

beforeEach(() => {
  secrets.reset();
});

describe('unfinishedRotation', () => {
  it('is undefined, without listing versions, when no rotation is unfinished', async () => {
    pages([{ VersionId: 'V1', CreatedDate: MADE }]);
    const finished = toSnapshot(
      describeOutput({ V0: ['AWSPREVIOUS'], V1: ['AWSCURRENT', 'AWSPENDING'] }, { cutover: 'V1' }),
    );
    await expect(unfinishedRotation(client, finished, at(100 * HOUR), 6)).resolves.toBeUndefined();
    const plain = toSnapshot(describeOutput({ V1: ['AWSCURRENT'] }, { cutover: 'V1' }));
    await expect(unfinishedRotation(client, plain, at(100 * HOUR), 6)).resolves.toBeUndefined();
    expect(secrets).not.toHaveReceivedCommand(ListSecretVersionIdsCommand);
  });

  it('dates the pending version from ListSecretVersionIds (100 a page) and calls it stuck from stuckAfterHours on', async () => {
    pages([
      { VersionId: 'V1', CreatedDate: new Date('2026-05-01T00:00:00Z') },
      { VersionId: 'T', CreatedDate: MADE },
    ]);
    const snapshot = pendingSnapshot();
    // Exactly 6 hours is stuck; a millisecond before is not.
    await expect(unfinishedRotation(client, snapshot, at(6 * HOUR - 1), 6)).resolves.toStrictEqual({
      versionId: 'T',
      since: MADE,
      stuck: false,
    });
    await expect(unfinishedRotation(client, snapshot, at(6 * HOUR), 6)).resolves.toStrictEqual({
      versionId: 'T',
      since: MADE,
      stuck: true,
    });
    await expect(unfinishedRotation(client, snapshot, at(HOUR), 1)).resolves.toMatchObject({ stuck: true });
    await expect(unfinishedRotation(client, snapshot, at(0), 6)).resolves.toMatchObject({ stuck: false });
    expect(secrets).toHaveReceivedCommandWith(ListSecretVersionIdsCommand, {
      SecretId: ARN,
      MaxResults: 100,
    });
  });

  it('finds the pending version on any page, and keeps its date when a later page does not list it', async () => {
    const snapshot = pendingSnapshot();
    pages(
      [{ VersionId: 'V1', CreatedDate: new Date('2026-05-01T00:00:00Z') }],
      [{ VersionId: 'T', CreatedDate: MADE }],
    );
    await expect(unfinishedRotation(client, snapshot, at(7 * HOUR), 6)).resolves.toStrictEqual({
      versionId: 'T',
      since: MADE,
      stuck: true,
    });
    expect(secrets.commandCalls(ListSecretVersionIdsCommand)).toHaveLength(2);

    secrets.reset();
    pages(
      [{ VersionId: 'T', CreatedDate: MADE }],
      [{ VersionId: 'V1', CreatedDate: new Date('2026-05-01T00:00:00Z') }],
      undefined,
    );
    await expect(unfinishedRotation(client, snapshot, at(7 * HOUR), 6)).resolves.toStrictEqual({
      versionId: 'T',
      since: MADE,
      stuck: true,
    });
    expect(secrets.commandCalls(ListSecretVersionIdsCommand)).toHaveLength(3);
  });

  it.each([
    ['ListSecretVersionIds lists no versions', [undefined]],
    ['the pending version is not listed', [[{ VersionId: 'V1', CreatedDate: MADE }]]],
    ['the pending version has no creation date', [[{ VersionId: 'T' }]]],
  ] as [string, ListSecretVersionIdsCommandOutput['Versions'][]][])(
    'is undated and never stuck when %s',
    async (_what, lists) => {
      pages(...lists);
      const result = await unfinishedRotation(client, pendingSnapshot(), at(1000 * HOUR), 6);
      expect(result).toStrictEqual({ versionId: 'T', stuck: false });
    },
  );

  it('counts a first rotation made current but never cut over as unfinished', async () => {
    pages([{ VersionId: 'T', CreatedDate: MADE }]);
    const first = toSnapshot(describeOutput({ T: ['AWSCURRENT', 'AWSPENDING'] }));
    await expect(unfinishedRotation(client, first, at(6 * HOUR), 6)).resolves.toStrictEqual({
      versionId: 'T',
      since: MADE,
      stuck: true,
    });
  });
});
