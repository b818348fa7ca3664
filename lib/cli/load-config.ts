import { type Config, defaultConfig } from '../config.js';
import { loadConfigFile } from '../config-file.js';

/** The config from --config, else KEYROT_CONFIG_FILE, else the defaults. */
export async function resolveConfig(flag: string | undefined): Promise<{ config: Config; source: string }> {
  const path = flag ?? (process.env.KEYROT_CONFIG_FILE || undefined);
  if (path === undefined) return { config: defaultConfig, source: 'built-in defaults' };
  return { config: await loadConfigFile(path), source: path };
}
