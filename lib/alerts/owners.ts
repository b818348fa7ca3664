import { type IAMClient, ListUserTagsCommand } from '@aws-sdk/client-iam';
import type { Routing } from './alerts.js';

/** The user tag that picks a user's Slack channel (one of `alerts.slack.channels`). */
export const SLACK_CHANNEL_TAG = 'slack-channel';

/**
 * Each user's routing tags (owner, Slack channel), read with iam:ListUserTags. A user whose tags
 * can't be read gets none: its alert still goes out, to the subscriptions that take every alert and
 * the default Slack channel.
 */
export async function userRoutes(
  iam: IAMClient,
  userNames: Iterable<string>,
  ownerTag: string,
): Promise<Map<string, Routing>> {
  const routes = new Map<string, Routing>();
  for (const userName of new Set(userNames)) {
    try {
      const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
      const owner = Tags.find((t) => t.Key === ownerTag)?.Value;
      const slackChannel = Tags.find((t) => t.Key === SLACK_CHANNEL_TAG)?.Value;
      routes.set(userName, { ...(owner ? { owner } : {}), ...(slackChannel ? { slackChannel } : {}) });
    } catch {
      routes.set(userName, {});
    }
  }
  return routes;
}
