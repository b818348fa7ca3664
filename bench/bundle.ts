/**
 * npm run bench:bundle — for each function: its bundle, built with the esbuild options in
 * serverless.yml (custom.esbuild: ESM, minified, tree-shaken, SDK v3 included, mainFields
 * module,main), and its zip as `osls package` writes it; and its module initialisation time, loading
 * the handler in a fresh Node process, bundled vs unbundled (the tsc output in dist/ importing from
 * node_modules), median of RUNS runs each. NODE_OPTIONS is serverless.yml's (source maps on), as in Lambda.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { parse } from 'yaml';

const FUNCTIONS = ['scan', 'rotate', 'retire', 'respond'];
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const LIMIT = 400 * 1024;
const out = mkdtempSync(join(tmpdir(), 'keyrot-bundle-'));

// CloudFormation's short tags (!Sub, !Ref) are not resolved here; only custom and provider are read.
const service = parse(readFileSync('serverless.yml', 'utf8'), { logLevel: 'silent' });
// serverless-esbuild's own settings; everything else in custom.esbuild goes to esbuild as it is.
const {
  exclude: _exclude,
  outputFileExtension: _ext,
  ...esbuildOptions
} = service.custom.esbuild as BuildOptions & {
  exclude?: unknown;
  outputFileExtension?: string;
};
const nodeOptions: string = service.provider.environment.NODE_OPTIONS ?? '';

/** Milliseconds to import a module in a fresh process (median of RUNS). */
function initMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ms = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        NODE_OPTIONS: nodeOptions,
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    times.push(Number(ms.toString()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

// The zips exactly as deployed.
const packaged = join(out, 'package');
execFileSync('npx', ['osls', 'package', '--stage', 'bench', '--package', packaged], {
  env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
  stdio: 'ignore',
});

const rows = [];
for (const name of FUNCTIONS) {
  const outfile = join(out, `${name}.mjs`);
  await build({
    ...esbuildOptions,
    entryPoints: [`functions/${name}.ts`],
    outfile,
    logLevel: 'error',
  });
  const bytes = statSync(outfile).size;
  const zipped = statSync(join(packaged, `${name}.zip`)).size;
  const bundled = initMs(outfile);
  const unbundled = initMs(resolve(`dist/functions/${name}.js`));
  rows.push({ name, bytes, zipped, bundled, unbundled });
}

console.log(`keyrot bundle benchmark: node ${process.version}, median of ${RUNS} fresh-process imports\n`);
console.log(
  '| function | bundle (minified) | zip, as packaged | init, bundled | init, unbundled | bundled is faster by |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${(r.bytes / 1024).toFixed(0)} KB | ${(r.zipped / 1024).toFixed(0)} KB | ${r.bundled.toFixed(0)} ms | ${r.unbundled.toFixed(0)} ms | ${(r.unbundled / r.bundled).toFixed(1)}× |`,
  );
}
const over = rows.filter((r) => r.bytes > LIMIT).map((r) => r.name);
const slow = rows.filter((r) => r.unbundled / r.bundled < 2).map((r) => r.name);
console.log(
  `\nsize target ≤ 400 KB: ${over.length ? `MISSED by ${over.join(', ')}` : 'met'}; init target ≥ 2× faster: ${slow.length ? `MISSED by ${slow.join(', ')}` : 'met'}`,
);
process.exitCode = over.length || slow.length ? 1 : 0;
