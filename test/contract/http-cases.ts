import type { ContractCase } from './kit.js';

/** The failure classes every HTTP adapter must classify, with bodies that echo what must not leak. */
export function httpCases(errorBody: (message: string) => string): ContractCase[] {
  const fault =
    (status: number, headers: Record<string, string> = {}) =>
    (echo: string) => ({
      status,
      headers,
      body: errorBody(`refused ${echo}`),
    });
  return [
    { label: 'HTTP 401', fault: fault(401), expect: { failureClass: 'unauthorized' } },
    { label: 'HTTP 403', fault: fault(403), expect: { failureClass: 'forbidden' } },
    { label: 'HTTP 404', fault: fault(404), expect: { failureClass: 'not-found' } },
    { label: 'HTTP 422', fault: fault(422), expect: { failureClass: 'invalid' } },
    { label: 'HTTP 409', fault: fault(409), expect: { failureClass: 'conflict' } },
    {
      label: 'HTTP 301',
      fault: fault(301, { location: 'https://elsewhere.example/' }),
      expect: { failureClass: 'redirect' },
    },
    {
      label: '429 with Retry-After: 2',
      fault: fault(429, { 'retry-after': '2' }),
      expect: { recovers: true, sleptAtLeast: 2000, sleptAtMost: 2000 },
    },
    {
      label: '429 without Retry-After',
      fault: fault(429),
      expect: { recovers: true, sleptAtLeast: 500, sleptAtMost: 500 },
    },
    {
      label: '429 with a Retry-After beyond the longest wait',
      fault: fault(429, { 'retry-after': '3600' }),
      expect: { failureClass: 'throttled' },
    },
    { label: 'one HTTP 500', fault: fault(500), expect: { recovers: true, sleptAtLeast: 500 } },
    {
      label: 'HTTP 503 on every attempt',
      fault: fault(503),
      times: 'always',
      expect: { failureClass: 'server' },
    },
    { label: 'one request without an answer (timeout)', fault: () => 'hang', expect: { recovers: true } },
    {
      label: 'no answer on every attempt',
      fault: () => 'hang',
      times: 'always',
      expect: { failureClass: 'timeout' },
    },
  ];
}
