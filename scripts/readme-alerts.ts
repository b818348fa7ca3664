/**
 * npx tsx scripts/readme-alerts.ts — rewrites the README's "What each alert looks like" examples from
 * the alert builders (test/helpers/alert-samples.ts), so the examples never drift from what keyrot
 * sends. test/unit/alerts/readme.test.ts fails when they differ; run this to bring them back.
 * A kind missing from the README gets its heading and example after the last one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ALERT_KINDS, alertText } from '../lib/alerts/alerts.js';
import { slackMessage } from '../lib/alerts/slack.js';
import { alertOfEveryKind } from '../test/helpers/alert-samples.js';

export const README_STAMP = { at: '2026-06-01T12:00:00.000Z', stage: 'prod' };

const file = new URL('../README.md', import.meta.url);
let readme = readFileSync(file, 'utf8');
const samples = alertOfEveryKind();
let previous = '';
for (const kind of ALERT_KINDS) {
  const block = `##### ${kind}\n\n\`\`\`text\n${alertText({ ...samples[kind], ...README_STAMP })}\n\`\`\``;
  const existing = new RegExp(`##### ${kind}\\n\\n\`\`\`text\\n[\\s\\S]*?\\n\`\`\``);
  if (existing.test(readme)) readme = readme.replace(existing, () => block);
  else {
    const after = new RegExp(`##### ${previous}\\n\\n\`\`\`text\\n[\\s\\S]*?\\n\`\`\``).exec(readme);
    if (after === null) throw new Error(`README has no example of ${previous} to put ${kind} after`);
    const at = after.index + after[0].length;
    readme = `${readme.slice(0, at)}\n\n${block}${readme.slice(at)}`;
  }
  previous = kind;
}
const slack = /(The `key-in-use` alert in Slack:\n\n```json\n)[\s\S]*?(\n```)/;
readme = readme.replace(
  slack,
  (_m, head: string, tail: string) =>
    `${head}${JSON.stringify(slackMessage({ ...samples['key-in-use'], ...README_STAMP }), null, 2)}${tail}`,
);
writeFileSync(file, readme);
console.log(`README: ${ALERT_KINDS.length} alert examples and the Slack message written from the builders`);
