import { GenerateCredentialReportCommand, GetCredentialReportCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { InventoryError } from '../../../lib/errors.js';
import { fetchCredentialReport, parseCredentialReport } from '../../../lib/inventory/credential-report.js';
import { awsError } from '../../helpers/aws-errors.js';
import { manualClock } from '../../helpers/clock.js';
import { REPORT_HEADER } from '../../helpers/credential-report.js';

const ROOT =
  '<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-01-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A';
const TWO_KEYS =
  'ci-deploy,arn:aws:iam::123456789012:user/machine/ci-deploy,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2025-02-01T10:00:00+00:00,2026-05-30T08:15:00+00:00,us-east-1,s3,false,2025-01-01T09:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A';
const NO_KEYS =
  'alice,arn:aws:iam::123456789012:user/alice,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A';
const csv = (...rows: string[]) => `${[REPORT_HEADER, ...rows].join('\n')}\n`;
const encode = (text: string) => new TextEncoder().encode(text);

describe('parseCredentialReport', () => {
  it('reads key slots, skips the root row and treats N/A as no value', () => {
    const rows = parseCredentialReport(csv(ROOT, TWO_KEYS, NO_KEYS));
    expect(rows).toEqual([
      {
        userName: 'ci-deploy',
        arn: 'arn:aws:iam::123456789012:user/machine/ci-deploy',
        passwordEnabled: false,
        keys: [
          {
            slot: 1,
            status: 'Active',
            createdAt: new Date('2025-02-01T10:00:00Z'),
            lastUsedAt: new Date('2026-05-30T08:15:00Z'),
            lastUsedService: 's3',
          },
          { slot: 2, status: 'Inactive', createdAt: new Date('2025-01-01T09:00:00Z') },
        ],
      },
      { userName: 'alice', arn: 'arn:aws:iam::123456789012:user/alice', passwordEnabled: true, keys: [] },
    ]);
  });

  it('reads an inactive key whose last_rotated is N/A (as AWS documents) from its last use', () => {
    // Slot 2: inactive, no creation date, but used: a key is there. Its age is bounded by that use.
    const row = TWO_KEYS.replace(
      'false,2025-01-01T09:00:00+00:00,N/A,N/A,N/A',
      'false,N/A,2025-03-01T00:00:00+00:00,us-east-1,sts',
    );
    const [parsed] = parseCredentialReport(csv(row));
    expect(parsed?.keys[1]).toEqual({
      slot: 2,
      status: 'Inactive',
      createdAt: new Date('2025-03-01T00:00:00Z'),
      createdAtUnknown: true,
      lastUsedAt: new Date('2025-03-01T00:00:00Z'),
      lastUsedService: 'sts',
    });
    // An active slot without a creation date is not read as a key.
    const active = TWO_KEYS.replace('true,2025-02-01T10:00:00+00:00', 'true,N/A');
    expect(parseCredentialReport(csv(active))[0]?.keys.map((k) => k.slot)).toEqual([2]);
  });

  it('keeps a user name with commas whole, although the report does not quote it', () => {
    const row = TWO_KEYS.replace('ci-deploy,', 'a,b,c,').replace('machine/ci-deploy', 'machine/a,b,c');
    const [parsed] = parseCredentialReport(csv(row));
    expect(parsed?.userName).toBe('a,b,c');
    expect(parsed?.arn).toBe('arn:aws:iam::123456789012:user/machine/a,b,c');
    expect(parsed?.keys).toHaveLength(2);
  });

  it('reads quoted fields and CRLF line ends', () => {
    const quoted = TWO_KEYS.replace('ci-deploy,', '"ci ""deploy""",');
    const [parsed] = parseCredentialReport(csv(quoted).replace(/\n/g, '\r\n'));
    expect(parsed?.userName).toBe('ci "deploy"');
    expect(parsed?.keys[0]?.status).toBe('Active');
  });

  it('treats an unparseable date as no value, and an empty report as no rows', () => {
    const [parsed] = parseCredentialReport(csv(TWO_KEYS.replace('2026-05-30T08:15:00+00:00', 'garbage')));
    expect(parsed?.keys[0]?.lastUsedAt).toBeUndefined();
    expect(parsed?.keys[0]?.lastUsedService).toBeUndefined();
    expect(parseCredentialReport('')).toEqual([]);
  });
});

describe('fetchCredentialReport', () => {
  const iam = mockClient(IAMClient);
  beforeEach(() => iam.reset());

  it('waits with backoff while the report is generated, then parses it', async () => {
    // Prepare
    const clock = manualClock();
    iam
      .on(GenerateCredentialReportCommand)
      .resolvesOnce({ State: 'STARTED' })
      .resolvesOnce({ State: 'INPROGRESS' })
      .resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: encode(csv(TWO_KEYS)), GeneratedTime: new Date('2026-06-01T09:00:00Z') });
    // Act
    const report = await fetchCredentialReport(new IAMClient({}), { clock, timeoutMs: 60_000 });
    // Assess
    expect(report.rows.map((r) => r.userName)).toEqual(['ci-deploy']);
    expect(report.generatedAt).toEqual(new Date('2026-06-01T09:00:00Z'));
    expect(clock.sleeps).toEqual([500, 1000]);
    expect(iam).toHaveReceivedCommandTimes(GenerateCredentialReportCommand, 3);
    expect(iam).toHaveReceivedCommandTimes(GetCredentialReportCommand, 1);
  });

  it('asks again when the report is still in progress, missing or expired when fetched', async () => {
    const clock = manualClock();
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .rejectsOnce(awsError('ReportInProgress'))
      .rejectsOnce(awsError('ReportNotPresent', 410))
      .rejectsOnce(awsError('ReportExpired', 410))
      .resolves({ Content: encode(csv(NO_KEYS)) });
    const report = await fetchCredentialReport(new IAMClient({}), {
      clock,
      timeoutMs: 60_000,
      initialPollMs: 100,
    });
    expect(report.rows[0]?.userName).toBe('alice');
    expect(report.generatedAt).toBeUndefined();
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  it('waits out throttling that outlasts the SDK retries', async () => {
    const clock = manualClock();
    iam
      .on(GenerateCredentialReportCommand)
      .rejectsOnce(awsError('Throttling'))
      .resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: Buffer.from(csv(NO_KEYS)).toString('base64') as never });
    const report = await fetchCredentialReport(new IAMClient({}), { clock, timeoutMs: 60_000 });
    expect(report.rows).toHaveLength(1);
    expect(clock.sleeps).toEqual([500]);
  });

  it('gives up after the timeout with an error saying what to do', async () => {
    const clock = manualClock();
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'INPROGRESS' });
    const failure = fetchCredentialReport(new IAMClient({}), { clock, timeoutMs: 20_000 });
    await expect(failure).rejects.toBeInstanceOf(InventoryError);
    await expect(failure).rejects.toThrow(
      /did not finish the credential report within 20 s \(last state: INPROGRESS\).*strategy "exact"/,
    );
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20_000);
    expect(iam).toHaveReceivedCommandTimes(GetCredentialReportCommand, 0);
  });

  it('does not retry an error that waiting cannot fix', async () => {
    iam.on(GenerateCredentialReportCommand).rejects(awsError('AccessDenied', 403));
    await expect(
      fetchCredentialReport(new IAMClient({}), { clock: manualClock(), timeoutMs: 60_000 }),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    expect(iam).toHaveReceivedCommandTimes(GenerateCredentialReportCommand, 1);
  });
});
