import type { DynamoDb } from '../aws/dynamodb.js';
import { errorName } from '../aws/errors.js';
import { DAY_MS } from '../clock.js';
import { type Alert, SEVERITY_RANK } from './alerts.js';

/**
 * The dedup ledger: the same alert about the same thing is sent once per `remindEveryDays`, unless
 * its severity rises or its state changes. `claim` records the alert as sent and says whether to send
 * it, atomically (two runs at once: one wins); `release` takes back a claim whose alert could not be
 * sent, so the next run tries again.
 */
export interface AlertLedger {
  claim(alert: Alert, now: Date): Promise<boolean>;
  release(alert: Alert, now: Date): Promise<void>;
}

/** What the ledger remembers about the last alert sent on a subject. */
export interface LedgerEntry {
  severity: number;
  state: string;
  sentAt: number;
}

/**
 * The rule, as a pure function (DynamoDB evaluates the same rule as a condition expression): send
 * when nothing was sent yet, when the last one is `remindEveryDays` old, when the severity rose or
 * when the state changed.
 */
export function isDue(
  previous: LedgerEntry | undefined,
  alert: Alert,
  now: Date,
  remindEveryDays: number,
): boolean {
  if (previous === undefined) return true;
  return (
    previous.sentAt <= now.getTime() - remindEveryDays * DAY_MS ||
    previous.severity < SEVERITY_RANK[alert.severity] ||
    previous.state !== alert.state
  );
}

/** The ledger in a DynamoDB table (partition key `subject`, TTL attribute `expiresAt`). */
export function dynamoLedger(db: DynamoDb, table: string, remindEveryDays: number): AlertLedger {
  return {
    async claim(alert, now) {
      const sentAt = now.getTime();
      try {
        await db.send('PutItem', {
          TableName: table,
          Item: {
            subject: { S: alert.subject },
            severity: { N: String(SEVERITY_RANK[alert.severity]) },
            state: { S: alert.state },
            kind: { S: alert.kind },
            sentAt: { N: String(sentAt) },
            // DynamoDB deletes the entry some time after this (TTL); the condition never relies on it.
            expiresAt: { N: String(Math.ceil((sentAt + (remindEveryDays + 1) * DAY_MS) / 1000)) },
          },
          ConditionExpression:
            'attribute_not_exists(subject) OR sentAt <= :due OR severity < :severity OR #state <> :state',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':due': { N: String(sentAt - remindEveryDays * DAY_MS) },
            ':severity': { N: String(SEVERITY_RANK[alert.severity]) },
            ':state': { S: alert.state },
          },
        });
        return true;
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },
    async release(alert, now) {
      try {
        await db.send('DeleteItem', {
          TableName: table,
          Key: { subject: { S: alert.subject } },
          ConditionExpression: 'sentAt = :sentAt',
          ExpressionAttributeValues: { ':sentAt': { N: String(now.getTime()) } },
        });
      } catch (error) {
        // Someone else sent it since: their entry stands.
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    },
  };
}

/** The same rule in memory: for the CLI without a table (one process) and for tests. */
export function memoryLedger(remindEveryDays: number): AlertLedger & { entries: Map<string, LedgerEntry> } {
  const entries = new Map<string, LedgerEntry>();
  return {
    entries,
    async claim(alert, now) {
      if (!isDue(entries.get(alert.subject), alert, now, remindEveryDays)) return false;
      entries.set(alert.subject, {
        severity: SEVERITY_RANK[alert.severity],
        state: alert.state,
        sentAt: now.getTime(),
      });
      return true;
    },
    async release(alert, now) {
      if (entries.get(alert.subject)?.sentAt === now.getTime()) entries.delete(alert.subject);
    },
  };
}
