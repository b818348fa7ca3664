import { stringify } from 'yaml';
import { parseFlags } from '../args.js';
import type { CliIo } from '../io.js';
import { resolveConfig } from '../load-config.js';

export const validateHelp = `Usage: keyrot validate [--config FILE]

Checks a keyrot config against the schema and prints the effective settings (defaults filled in).
Exit 0 when valid, 2 with one line per problem when not. Touches no AWS account.
`;

export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('validate', argv, { config: { type: 'string' } });
  const { config, source } = await resolveConfig(values.config, io);
  io.stdout(`${source} is valid. Effective configuration:\n${stringify(config)}`);
  return 0;
}
