import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (serverless.yml aliases
 * it): a function takes credentials from its execution role only, which Lambda puts in the
 * environment. The default chain's other sources (profiles, SSO, web identity, the instance metadata
 * service) can't apply inside Lambda, and leaving them out takes ~110 KB out of each bundle.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
