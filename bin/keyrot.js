#!/usr/bin/env node
// The keyrot CLI. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/lib/cli/entry.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'keyrot: dist/ is missing. Run "npm ci" (or "npm run build") in the keyrot folder first.\n',
  );
  process.exit(1);
}
await import(entry.href);
