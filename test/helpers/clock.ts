import type { Clock } from '../../lib/clock.js';

/** A clock that only moves when slept on: no real waiting, and every wait is recorded. */
export function manualClock(start = new Date('2026-06-01T12:00:00Z')): Clock & { sleeps: number[] } {
  let time = start.getTime();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(time),
    sleep: async (ms) => {
      sleeps.push(ms);
      time += ms;
    },
  };
}
