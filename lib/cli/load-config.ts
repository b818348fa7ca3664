import { existsSync } from 'node:fs';
import { type Config, defaultConfig } from '../config.js';
import { loadConfigFile } from '../config-file.js';
import type { CliIo } from './io.js';

/** The file the CLI reads when neither --config nor KEYROT_CONFIG_FILE names one (as the deploy does). */
export const DEFAULT_CONFIG_FILE = 'keyrot.config.yaml';

/**
 * The config from --config, else KEYROT_CONFIG_FILE, else ./keyrot.config.yaml when it exists (the
 * file the deployed functions are packaged with, so the CLI and the functions agree), else the
 * defaults. When the file was picked up implicitly, the CLI says so on stderr.
 */
export async function resolveConfig(
  flag: string | undefined,
  io?: Pick<CliIo, 'stderr'>,
): Promise<{ config: Config; source: string }> {
  if (flag !== undefined) return { config: await loadConfigFile(flag), source: flag };
  const fromEnv = process.env.KEYROT_CONFIG_FILE || undefined;
  if (fromEnv !== undefined) {
    return { config: await loadConfigFile(fromEnv, undefined, 'KEYROT_CONFIG_FILE'), source: fromEnv };
  }
  if (existsSync(DEFAULT_CONFIG_FILE)) {
    io?.stderr(`keyrot: using config ./${DEFAULT_CONFIG_FILE} (--config FILE picks another)\n`);
    return { config: await loadConfigFile(DEFAULT_CONFIG_FILE), source: `./${DEFAULT_CONFIG_FILE}` };
  }
  return { config: defaultConfig, source: 'built-in defaults' };
}
