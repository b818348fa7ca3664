/**
 * The AWS SDK for JavaScript v3 warns, on stderr, in 8 lines, in every process on Node.js < 22 that
 * builds a client: its versions published after the first week of January 2027 need Node.js 22
 * (@aws-sdk/core, emitWarningIfUnsupportedVersion; "https://a.co/c895JFp" in the warning). keyrot
 * still works on Node.js 20, so the CLI turns that warning off and says it once, where a user asks
 * about versions: `keyrot --version` (and `keyrot --help`).
 */

/** The first Node.js major the AWS SDK supports after January 2027. */
export const SDK_MIN_NODE_MAJOR = 22;

/** The SDK's own switch for its warning (read when a client is built). */
export const SDK_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** One line a user can act on, or undefined when this Node.js is supported beyond 2027. */
export function nodeSupportNotice(nodeVersion: string): string | undefined {
  const major = Number.parseInt(nodeVersion.replace(/^v/, ''), 10);
  if (!Number.isInteger(major) || major >= SDK_MIN_NODE_MAJOR) return undefined;
  return `Note: Node.js ${nodeVersion} works, but AWS SDK releases after January 2027 need Node.js ${SDK_MIN_NODE_MAJOR} or later; upgrade this machine's Node.js before then (keyrot's Lambda functions already run on Node.js 24).`;
}

/** Turns the SDK's per-process warning off, unless the user set the switch themselves. */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv): void {
  if (env[SDK_WARNING_SWITCH] === undefined) env[SDK_WARNING_SWITCH] = 'true';
}
