import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createClients } from '../lib/aws/clients.js';
import { resolveConfig } from '../lib/cli/load-config.js';
import { systemClock } from '../lib/clock.js';
import { runSmoke } from './smoke/smoke.js';

// npm run smoke:aws -- --profile P --region R [--stage dev] [--config FILE]
// The "before production" check on a sandbox account with the stack deployed (see the README,
// "keyrot on real AWS"). It makes a throw-away machine user and deletes all it made at the end.
const { values } = parseArgs({
  options: {
    profile: { type: 'string' },
    region: { type: 'string' },
    stage: { type: 'string', default: 'dev' },
    config: { type: 'string' },
  },
  strict: true,
});
if (!values.profile || !values.region) {
  process.stderr.write('Usage: npm run smoke:aws -- --profile P --region R [--stage dev] [--config FILE]\n');
  process.exit(2);
}
if (process.env.AWS_ENDPOINT_URL) {
  process.stderr.write('smoke:aws is for a real sandbox account; unset AWS_ENDPOINT_URL.\n');
  process.exit(2);
}
process.env.AWS_PROFILE = values.profile;
process.env.AWS_REGION = values.region;

const { config, source } = await resolveConfig(values.config);
const clients = createClients({ region: values.region });
const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
const accountId = identity.Account ?? '';
const path = `${config.machinePath}keyrot-smoke/`;
process.stdout.write(
  `keyrot smoke test on account ${accountId} (${identity.Arn}), region ${values.region}, stage ${values.stage}, config ${source}.
It creates an IAM user under ${path} with one access key, onboards it through keyrot-${values.stage}-rotate,
waits for the rotation, checks the new key, retires the old one, then deletes the user and its secret.
`,
);
const prompt = createInterface({ input: process.stdin, output: process.stdout });
const answer = await prompt.question(`Type the account id (${accountId}) to go on: `);
prompt.close();
if (answer.trim() !== accountId) {
  process.stdout.write('Nothing was done.\n');
  process.exit(1);
}

const report = await runSmoke(
  { clients, clock: systemClock, log: (line) => process.stdout.write(`${line}\n`) },
  { accountId, region: values.region, stage: values.stage, config, path, rotationTimeoutMs: 10 * 60_000 },
);
process.stdout.write(
  `\n${report.steps.map((s) => `${s.ok ? 'PASS' : 'FAIL'}  ${s.step}: ${s.detail}`).join('\n')}\n`,
);
if (report.leftovers.length > 0)
  process.stdout.write(`\nDelete by hand:\n${report.leftovers.map((l) => `  - ${l}`).join('\n')}\n`);
process.exit(report.ok ? 0 : 1);
