import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, alertText } from '../../../lib/alerts/alerts.js';
import { slackMessage } from '../../../lib/alerts/slack.js';
import { alertOfEveryKind } from '../../helpers/alert-samples.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const samples = alertOfEveryKind();
const stamp = { at: '2026-06-01T12:00:00.000Z', stage: 'prod' };

describe("the README's Alerts section", () => {
  it.each(ALERT_KINDS)('shows the %s alert exactly as keyrot renders it', (kind) => {
    const match = new RegExp(`##### ${kind}\\n\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
    expect(match?.[1], 'regenerate with: npx tsx scripts/readme-alerts.ts').toBe(
      alertText({ ...samples[kind], ...stamp }),
    );
  });

  it('shows the Slack message of a held key exactly as keyrot renders it', () => {
    const match = /The `key-in-use` alert in Slack:\n\n```json\n([\s\S]*?)\n```/.exec(readme);
    expect(JSON.parse(match?.[1] ?? 'null')).toEqual(slackMessage({ ...samples['key-in-use'], ...stamp }));
  });
});
