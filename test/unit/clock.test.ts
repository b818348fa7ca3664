import { describe, expect, it } from 'vitest';
import { parseIsoDate, simulatedClock, wholeDaysBetween } from '../../lib/clock.js';
import { manualClock } from '../helpers/clock.js';

describe('parseIsoDate', () => {
  it.each([
    ['2027-03-01', '2027-03-01T00:00:00.000Z'],
    ['2027-03-01T12:30:00Z', '2027-03-01T12:30:00.000Z'],
    ['2027-03-01T12:30:00+02:00', '2027-03-01T10:30:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => expect(parseIsoDate(text)?.toISOString()).toBe(iso));

  it.each(['2027-02-30', '2027-02-29', '2027-13-01', 'tomorrow', '03/01/2027', '2027-3-1', ''])(
    'rejects %j',
    (text) => {
      expect(parseIsoDate(text)).toBeUndefined();
    },
  );
});

describe('wholeDaysBetween', () => {
  it('rounds down and never goes negative', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    expect(wholeDaysBetween(from, new Date('2026-01-08T23:59:59Z'))).toBe(7);
    expect(wholeDaysBetween(from, new Date('2025-12-31T00:00:00Z'))).toBe(0);
  });
});

describe('simulatedClock', () => {
  it('reports the simulated date and sleeps on the base clock', async () => {
    const base = manualClock();
    const clock = simulatedClock(new Date('2030-01-01T00:00:00Z'), base);
    await clock.sleep(250);
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(base.sleeps).toEqual([250]);
  });
});
