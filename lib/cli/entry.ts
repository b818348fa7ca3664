import { main } from './main.js';

// The process entry of the CLI: bin/keyrot.js loads the compiled form of this file.
process.exitCode = await main(process.argv.slice(2));
