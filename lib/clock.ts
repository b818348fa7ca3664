/** The Clock port: every decision takes its "now" from here, so tests and `--now` can move time. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const DAY_MS = 86_400_000;

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A clock whose "now" is shifted to a simulated date (the CLI's `--now`). Sleeping still waits in
 * real time, because the thing waited for (a report being generated) happens in real time.
 */
export function simulatedClock(now: Date, base: Clock = systemClock): Clock {
  return { now: () => new Date(now.getTime()), sleep: (ms) => base.sleep(ms) };
}

/** Whole days from `from` to `to`, rounded down; 0 when `to` is not later than `from`. */
export function wholeDaysBetween(from: Date, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / DAY_MS));
}

/** Parses an ISO-8601 date or date-time for `--now`; returns undefined when it is not one. */
export function parseIsoDate(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text))
    return undefined;
  const date = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime())) return undefined;
  // Date rolls impossible days over (2027-02-30 becomes March 2): reject them instead.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number);
  const noon = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0, 12));
  return noon.getUTCMonth() + 1 === month && noon.getUTCDate() === day ? date : undefined;
}
