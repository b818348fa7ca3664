// Applies each mutation issue 15 names, one at a time, runs the test that must catch it, and restores
// the file. A mutation whose text is no longer in the code fails loudly (the code moved: update the
// row). Usage: node test/mutation/named-mutations.mjs [id ...]   (no id: every unit-level row).
// The least-privilege rows (L*) package serverless.yml with osls once, then widen a role in a copy of
// the packaged CloudFormation template (osls copies serverless.yml's `resources` into it as they are,
// so this is the same change as editing serverless.yml) and run the package project's template test on
// that copy. They run only when named, or with --all.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** id, issue section, file, text to find (exactly once), its replacement, test file, test name pattern. */
export const MUTATIONS = [
  // 2. The first promise.
  [
    'P1a',
    '2',
    'lib/rotation/steps.ts',
    'const candidates = unexplained.filter((k) => !held.has(k.accessKeyId));',
    'const candidates = unexplained;',
    'test/unit/rotation/steps.test.ts',
    'never takes a key',
  ],
  [
    'P1b',
    '2',
    'lib/secret/guard.ts',
    'if (await heldByAnyVersion(secrets, snapshot, id))',
    'if (false)',
    'test/unit/secret/guard.test.ts',
    'refuses an orphan a version of the secret holds',
  ],
  [
    'P2a',
    '2',
    'lib/rotation/steps.ts',
    '[keyIdOf(stages.current), keyIdOf(stages.pending), keyIdOf(stages.previous)]',
    '[keyIdOf(stages.current), keyIdOf(stages.previous)]',
    'test/unit/rotation/steps.test.ts',
    'AWSPENDING holds for an unstored',
  ],
  [
    'P2b',
    '2',
    'lib/secret/guard.ts',
    "if (id === pendingKeyId) throw refuse('it is the key AWSPENDING holds (a rotation is under way)');",
    '',
    'test/unit/secret/guard.test.ts',
    'refuses the key AWSPENDING holds',
  ],
  [
    'P3',
    '2',
    'lib/rotation/steps.ts',
    'if (versionWith(snapshot, STAGE.current) !== input.token) throw error;',
    '',
    'test/unit/rotation/steps.test.ts',
    'records no cut-over when AWSCURRENT was not moved',
  ],
  [
    'P4',
    '2',
    'lib/retirement/retire.ts',
    'for (const stage of [STAGE.current, STAGE.pending])',
    'for (const stage of [STAGE.current])',
    'test/unit/retirement/retire.test.ts',
    'AWSPENDING appeared',
  ],
  [
    'P5',
    '2',
    'lib/rotation/steps.ts',
    'knownKeyIds: keys.map((k) => k.accessKeyId),',
    'knownKeyIds: [],',
    'test/unit/rotation/driver.test.ts',
    'pre-keyrot key stays',
  ],
  // 4. Redaction.
  [
    'R1',
    '4',
    'lib/log.ts',
    'new Logger({ serviceName, jsonReplacerFn: redact })',
    'new Logger({ serviceName })',
    'test/unit/log.test.ts',
    'createLogger',
  ],
  [
    'R1e',
    '4',
    'lib/log.ts',
    'new Logger({ serviceName, jsonReplacerFn: redact })',
    'new Logger({ serviceName })',
    'test/unit/redaction.test.ts',
    'Lambda handlers',
  ],
  [
    'R2a',
    '4',
    'lib/log.ts',
    'secretbinary|sessiontoken|password',
    'secretbinary|password',
    'test/unit/log.test.ts',
    'every secret-named field',
  ],
  [
    'R2b',
    '4',
    'lib/log.ts',
    'const TOKEN_SHAPE = /[A-Za-z0-9/+=]{100,}/g;',
    'const TOKEN_SHAPE = /(?!)/g;',
    'test/unit/log.test.ts',
    'redactText',
  ],
  [
    'R2c',
    '4',
    'lib/log.ts',
    '(secret_?access_?key|session_?token|secret_?string',
    '(secret_?access_?key|secret_?string',
    'test/unit/log.test.ts',
    'redactText',
  ],
  [
    'R2e',
    '4',
    'lib/log.ts',
    'const TOKEN_SHAPE = /[A-Za-z0-9/+=]{100,}/g;',
    'const TOKEN_SHAPE = /(?!)/g;',
    'test/unit/redaction.test.ts',
    'Lambda handlers',
  ],
  // 5. Error classification and the config schema.
  [
    'E1',
    '5',
    'lib/aws/errors.ts',
    "  'AccessDeniedException',\n",
    '',
    'test/unit/aws/error-classification.test.ts',
    'AccessDeniedException',
  ],
  [
    'E2',
    '5',
    'lib/aws/errors.ts',
    "  'ExpiredToken',\n  'ExpiredTokenException',\n",
    '',
    'test/unit/aws/error-classification.test.ts',
    'ExpiredToken',
  ],
  [
    'E3',
    '5',
    'lib/aws/errors.ts',
    "  'ECONNRESET',\n",
    '',
    'test/unit/aws/error-classification.test.ts',
    'ECONNRESET',
  ],
  [
    'E4',
    '5',
    'lib/aws/errors.ts',
    "  'UnauthorizedOperation',\n",
    '',
    'test/unit/aws/error-classification.test.ts',
    'UnauthorizedOperation',
  ],
  [
    'E5',
    '5',
    'lib/aws/errors.ts',
    "  'AuthorizationError',\n",
    '',
    'test/unit/aws/error-classification.test.ts',
    'AuthorizationError',
  ],
  [
    'C1',
    '5',
    'lib/config.ts',
    'const rotationSchema = z.strictObject({',
    'const rotationSchema = z.object({',
    'test/unit/config.test.ts',
    'unknown field',
  ],
  [
    'C2',
    '5',
    'lib/config.ts',
    'const inventorySchema = z.strictObject({',
    'const inventorySchema = z.object({',
    'test/unit/config.test.ts',
    'unknown field',
  ],
  [
    'C3',
    '5',
    'lib/config.ts',
    'const userSchema = z.strictObject({',
    'const userSchema = z.object({',
    'test/unit/config.test.ts',
    'unknown field',
  ],
];

/** A role's inline policy statements in the packaged template. */
const statementsOf = (template, role) =>
  template.Resources[role].Properties.Policies[0].PolicyDocument.Statement;
const withSid = (template, role, sid) => statementsOf(template, role).find((st) => st.Sid === sid);
const secretsArn = (template) => withSid(template, 'RetireRole', 'MachineUserSecrets').Resource;
const add = (role, statement) => (t) => {
  statementsOf(t, role).push(typeof statement === 'function' ? statement(t) : statement);
};

/** id, what the issue says, how the template is widened, test name pattern in test/package/template.test.ts. */
export const PRIVILEGE_MUTATIONS = [
  [
    'L1',
    'rotate role: iam:AttachUserPolicy and iam:PutUserPolicy on user/*',
    add('RotateRole', {
      Effect: 'Allow',
      Action: ['iam:AttachUserPolicy', 'iam:PutUserPolicy'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
      Resource: { 'Fn::Sub': 'arn:aws:iam::${AWS::AccountId}:user/*' },
    }),
  ],
  [
    'L2',
    'rotate role: UpdateAccessKey, CreateLoginProfile and AttachUserPolicy on machine users',
    add('RotateRole', {
      Effect: 'Allow',
      Action: ['iam:UpdateAccessKey', 'iam:CreateLoginProfile', 'iam:AttachUserPolicy'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
      Resource: { 'Fn::Sub': 'arn:aws:iam::${AWS::AccountId}:user/machine/*' },
    }),
  ],
  [
    'L3',
    'rotate role: sts:AssumeRole on ["*"]',
    add('RotateRole', { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ['*'] }),
  ],
  [
    'L4',
    'rotate role: a second, unconditioned PutSecretValue on keyrot/*',
    add('RotateRole', (t) => ({
      Effect: 'Allow',
      Action: 'secretsmanager:PutSecretValue',
      Resource: secretsArn(t),
    })),
  ],
  [
    'L5',
    'scan role: GetSecretValue on keyrot/*',
    add('ScanRole', (t) => ({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretsArn(t),
    })),
  ],
  [
    'L6',
    'retire role: PutSecretValue, UpdateSecretVersionStage and DeleteSecret',
    (t) => {
      withSid(t, 'RetireRole', 'MachineUserSecrets').Action.push(
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:DeleteSecret',
      );
    },
  ],
  [
    'L7',
    'retire role without the keyrot:user tag condition',
    (t) => {
      delete withSid(t, 'RetireRole', 'MachineUserSecrets').Condition;
    },
  ],
];

const args = process.argv.slice(2);
const named = args.filter((a) => a !== '--all');
const rows = MUTATIONS.filter(([id]) => args.includes('--all') || named.length === 0 || named.includes(id));
let failures = 0;
for (const [id, section, file, from, to, test, name] of rows) {
  const original = readFileSync(file, 'utf8');
  const count = original.split(from).length - 1;
  if (count !== 1) {
    console.log(`${id}\tERROR\t${file}: the mutated text occurs ${count} times (expected once)`);
    failures++;
    continue;
  }
  writeFileSync(file, original.replace(from, to));
  try {
    const run = spawnSync('npx', ['vitest', 'run', '--project', 'unit', test, '-t', name], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
    const out = `${run.stdout}${run.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    const failed = [...new Set(out.match(/^\s*×\s.*$/gm) ?? [])];
    const caught = run.status !== 0 && /Tests\s+\d+ failed/.test(out);
    if (!caught) failures++;
    console.log(
      `${id}\t§${section}\t${caught ? 'CAUGHT' : 'SURVIVED'}\t${test}\t${failed
        .slice(0, 3)
        .map((l) => l.trim())
        .join(' | ')}`,
    );
  } finally {
    writeFileSync(file, original);
  }
}
const privilegeRows = PRIVILEGE_MUTATIONS.filter(([id]) => args.includes('--all') || args.includes(id));
if (privilegeRows.length > 0) {
  const packaged = mkdtempSync(join(tmpdir(), 'keyrot-named-'));
  const pack = spawnSync('npx', ['osls', 'package', '--stage', 'ci', '--package', packaged], {
    encoding: 'utf8',
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', AWS_ENDPOINT_URL: '' },
  });
  if (pack.status !== 0) throw new Error(`osls package failed:\n${pack.stdout}${pack.stderr}`);
  const templateFile = 'cloudformation-template-update-stack.json';
  // A control first: the unchanged template must pass, or every row below would look caught.
  for (const [id, what, widen] of [['L0', 'control: the template as packaged', () => {}], ...privilegeRows]) {
    const dir = mkdtempSync(join(tmpdir(), `keyrot-${id}-`));
    cpSync(join(packaged, templateFile), join(dir, templateFile));
    const template = JSON.parse(readFileSync(join(dir, templateFile), 'utf8'));
    widen(template);
    writeFileSync(join(dir, templateFile), JSON.stringify(template));
    const test = 'test/package/template.test.ts';
    const run = spawnSync(
      'npx',
      [
        'vitest',
        'run',
        '--project',
        'package',
        test,
        '-t',
        'allow-list|escalation|resource of|key writes|only Allow',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', KEYROT_PACKAGED_DIR: dir },
      },
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
    const out = `${run.stdout}${run.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    const failed = [...new Set(out.match(/^\s*×\s.*$/gm) ?? [])];
    const caught = run.status !== 0 && /Tests\s+\d+ failed/.test(out);
    const expected = id === 'L0' ? !caught && run.status === 0 : caught;
    if (!expected) failures++;
    console.log(
      `${id}\t§1\t${id === 'L0' ? (expected ? 'PASSES' : 'FAILS UNCHANGED') : caught ? 'CAUGHT' : 'SURVIVED'}\t${what}\t${test}\t${failed.map((l) => l.trim()).join(' | ')}`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(packaged, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
