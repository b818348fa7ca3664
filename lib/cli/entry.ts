import { main } from './main.js';
import { quietSdkNodeWarning } from './node-support.js';

// The process entry of the CLI: bin/keyrot.js loads the compiled form of this file. The SDK's Node.js
// support warning is said once by `keyrot --version`, not on every command (see node-support.ts).
quietSdkNodeWarning(process.env);
process.exitCode = await main(process.argv.slice(2));
