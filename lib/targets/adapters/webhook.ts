import { createHash, createHmac } from 'node:crypto';
import type { WebhookOptions } from '../catalog.js';
import { TargetFailure } from '../failure.js';
import { type HttpScope, httpCall } from '../http.js';
import type { CreateTarget, Target } from '../port.js';

/**
 * A signed POST of the new key, per the Standard Webhooks spec: `webhook-id` (the same for every
 * retry of one delivery, so receivers can drop duplicates), `webhook-timestamp` (epoch seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret after
 * `whsec_`. Any 2xx is success; 3xx is a failure (redirects are not followed); 410 disables the
 * target, which is reported. A receiver can't be asked what it holds: the fingerprint is unknown.
 */
export const createWebhook: CreateTarget<WebhookOptions> = (name, options, deps) => {
  const label = `webhook target "${name}"`;
  const url = new URL(options.url);
  const fixes = {
    unauthorized: `the receiver refused the signature: check that it verifies with the secret in ${options.signingSecretId}`,
    forbidden: `the receiver refused the delivery: check that it verifies with the secret in ${options.signingSecretId}`,
    'not-found': `nothing receives at ${url.origin}${url.pathname}: check url`,
    redirect: `the receiver redirects; keyrot does not follow redirects with a key in the body: configure the final URL`,
  };

  const signingKey = async (): Promise<Buffer> => {
    const secret = await deps.readToken(options.signingSecretId);
    const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : '';
    const key = Buffer.from(encoded, 'base64');
    if (encoded === '' || key.length < 16)
      throw new TargetFailure(
        'invalid',
        `${label}: the signing secret in ${options.signingSecretId} is not a Standard Webhooks secret (whsec_ followed by base64 of 16 to 64 bytes): store one there`,
      );
    return key;
  };

  const target: Target = {
    type: 'webhook',
    name,
    async push(credential, ctx) {
      const key = await signingKey();
      const body = JSON.stringify({
        type: 'keyrot.key.rotated',
        userName: credential.userName,
        accessKeyId: credential.accessKeyId,
        secretAccessKey: credential.secretAccessKey,
        rotatedAt: ctx.rotatedAt.toISOString(),
      });
      const id = `msg_${createHash('sha256').update(`${name}|${ctx.versionId}|${credential.accessKeyId}`).digest('hex').slice(0, 32)}`;
      const timestamp = String(Math.floor(deps.clock.now().getTime() / 1000));
      const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
      const http: HttpScope = {
        deps,
        label,
        fixes,
        secrets: [credential.secretAccessKey],
        // A receiver's answer may echo what it was sent: never quoted.
        quoteBodies: false,
      };
      const answer = await httpCall(http, {
        method: 'POST',
        url: options.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'keyrot',
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': `v1,${signature}`,
        },
        body,
        accept: [410],
      });
      if (answer.status === 410)
        return {
          outcome: 'disabled',
          reason: `${label}: the receiver answered 410 Gone, so the target is disabled; fix or remove it in the config, then rotate again`,
        };
      return { outcome: 'pushed' };
    },
    // The receiver's 2xx to the signed delivery is all a webhook can prove.
    verify: async () => {},
    fingerprint: async () => ({ state: 'unknown' }),
    describe: () => ({
      type: 'webhook',
      name,
      url: `${url.origin}${url.pathname}`,
      signingSecretId: options.signingSecretId,
    }),
  };
  return target;
};
