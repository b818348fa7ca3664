/**
 * What `accounts.include` / `accounts.exclude` may name: an account id (12 digits), an OU id, the
 * organization's root id, or an account tag (`tag:KEY=VALUE`, or `tag:KEY` for any value). Here, with
 * no imports, so the config schema can check entries without pulling in the Organizations client.
 */
export const SELECTOR_ENTRY =
  /^(?:\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}|tag:[^=]{1,128}(?:=.{0,256})?)$/;

export const SELECTOR_ENTRY_HELP =
  'is not an account id (12 digits), an OU id (ou-xxxx-xxxxxxxx), the root id (r-xxxx) or an account tag (tag:KEY=VALUE or tag:KEY)';

/** What a selector entry is wrong about, or undefined when it is a valid one. */
export function selectorEntryProblem(entry: string): string | undefined {
  return SELECTOR_ENTRY.test(entry) ? undefined : `"${entry}" ${SELECTOR_ENTRY_HELP}`;
}
