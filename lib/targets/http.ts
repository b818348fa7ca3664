import { classifyStatus, type FailureClass, TargetFailure } from './failure.js';
import type { TargetDeps } from './port.js';

export interface HttpCall {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** A JSON body (serialized here) or a prepared string body. */
  json?: unknown;
  body?: string;
  /** Statuses that are answers, not failures (404 when probing whether something exists). */
  accept?: readonly number[];
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Who is calling, for messages; what to tell the user per failure class; strings never to echo. */
export interface HttpScope {
  deps: Pick<TargetDeps, 'fetch' | 'clock' | 'http'>;
  /** `github-actions target "gh"` */
  label: string;
  fixes: Partial<Record<FailureClass, string>>;
  /** The key and the token: scrubbed from anything a provider answers before it reaches a message. */
  secrets: readonly string[];
  /** Provider error bodies may be quoted (their `message` field); a webhook receiver's never are. */
  quoteBodies: boolean;
}

const DEFAULT_FIXES: Record<FailureClass, string> = {
  unauthorized: 'the token is missing, invalid or expired: store a valid one in its token secret',
  forbidden: 'the token lacks the permission this call needs: grant it',
  'not-found': 'check the scope in the target options, and that the token can see it',
  conflict: 'the provider refused the write as a conflict; check the options',
  invalid: 'the provider refused the request; check the target options',
  redirect: 'the URL redirects; configure the final URL',
  gone: 'the receiver says it is gone for good; remove or fix the target',
  'bad-response': 'the provider answered something keyrot does not understand; check apiUrl',
  throttled: 'rate limited; the rotation is retried later',
  server: 'the provider failed; the rotation is retried',
  timeout: 'no answer in time; the rotation is retried',
  network: 'could not connect; check the URL and the network',
};

/**
 * One HTTP call with the target retry rules: 429, and 403 with `x-ratelimit-remaining: 0` (GitHub),
 * wait for `Retry-After` or the rate-limit reset (up to `maxWaitMs`); 5xx, timeouts and network
 * errors back off and retry; 401, 403, 404 and the other 4xx fail at once. Any failure is a
 * TargetFailure that says whether a later retry may help and what to fix.
 */
export async function httpCall(scope: HttpScope, call: HttpCall): Promise<HttpAnswer> {
  const { deps } = scope;
  const where = `${call.method} ${new URL(call.url).pathname}`;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= deps.http.attempts;
    let failure: TargetFailure;
    let wait = backoff(attempt);
    try {
      const response = await deps.fetch(call.url, {
        method: call.method,
        headers: {
          ...(call.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...call.headers,
        },
        ...(call.json !== undefined
          ? { body: JSON.stringify(call.json) }
          : call.body !== undefined
            ? { body: call.body }
            : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.http.timeoutMs),
      });
      const text = await response.text();
      if ((response.status >= 200 && response.status < 300) || call.accept?.includes(response.status))
        return { status: response.status, headers: response.headers, text };
      const rateLimited =
        response.status === 429 ||
        (response.status === 403 &&
          (response.headers.get('x-ratelimit-remaining') === '0' || response.headers.has('retry-after')));
      const failureClass = rateLimited ? 'throttled' : classifyStatus(response.status);
      const quoted = scope.quoteBodies ? providerMessage(text, scope.secrets) : '';
      failure = new TargetFailure(
        failureClass,
        `${scope.label}: HTTP ${response.status} on ${where}${quoted ? ` (${quoted})` : ''}: ${scope.fixes[failureClass] ?? DEFAULT_FIXES[failureClass]}`,
        { status: response.status },
      );
      if (rateLimited) {
        const until = rateLimitWait(response.headers, deps.clock.now());
        if (until !== undefined) wait = until;
        if (wait > deps.http.maxWaitMs) throw failure;
      }
    } catch (error) {
      if (error instanceof TargetFailure) throw error;
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const failureClass: FailureClass = timedOut ? 'timeout' : 'network';
      // The cause is kept by name only: a fetch error carries the request, body included.
      failure = new TargetFailure(
        failureClass,
        `${scope.label}: ${timedOut ? `no answer within ${deps.http.timeoutMs} ms` : `${errorCode(error)}`} on ${where}: ${scope.fixes[failureClass] ?? DEFAULT_FIXES[failureClass]}`,
      );
    }
    if (!failure.retryable || last) throw failure;
    await deps.clock.sleep(wait);
  }
}

/** The answer's JSON, or a bad-response failure (never quoting the body). */
export function parseJson(scope: HttpScope, answer: HttpAnswer, what: string): unknown {
  try {
    return JSON.parse(answer.text);
  } catch (error) {
    throw new TargetFailure(
      'bad-response',
      `${scope.label}: ${what} was not JSON: ${DEFAULT_FIXES['bad-response']}`,
      { cause: error instanceof Error ? new Error(error.name) : undefined },
    );
  }
}

/**
 * A CI variable's value: GET the variable (404 means there is none), then its JSON `value` when it is
 * a string. GitHub's and GitLab's variable APIs both answer this shape.
 */
export async function readVariableValue(
  scope: HttpScope,
  url: string,
  headers: Record<string, string>,
): Promise<string | undefined> {
  const answer = await httpCall(scope, { method: 'GET', url, headers, accept: [404] });
  if (answer.status === 404) return undefined;
  const body = parseJson(scope, answer, 'the variable') as { value?: unknown };
  return typeof body.value === 'string' ? body.value : undefined;
}

function backoff(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8_000);
}

/** Milliseconds to wait per Retry-After (seconds or an HTTP date) or x-ratelimit-reset (epoch seconds). */
export function rateLimitWait(headers: Headers, now: Date): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    if (/^\d+$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now.getTime());
  }
  const reset = headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - now.getTime());
  return undefined;
}

/** A provider's own error message (`message` or `error` field), short, with secrets scrubbed. */
function providerMessage(text: string, secrets: readonly string[]): string {
  let message: unknown;
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    message = body.message ?? body.error;
  } catch {
    return '';
  }
  if (message === undefined) return '';
  let out = (typeof message === 'string' ? message : JSON.stringify(message)).slice(0, 200);
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  return out;
}

function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'network error';
}
