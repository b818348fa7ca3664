import { type Config, defaultConfig, loadConfigFile } from './config.js';

let cached: Promise<Config> | undefined;

/**
 * The Lambda's config: the file named by KEYROT_CONFIG_FILE (packaged with the function), else the
 * defaults. Read once per container; a bad file fails every invocation with the ConfigError.
 */
export function lambdaConfig(): Promise<Config> {
  if (cached === undefined) {
    const path = process.env.KEYROT_CONFIG_FILE;
    cached = path ? loadConfigFile(path) : Promise.resolve(defaultConfig);
  }
  return cached;
}
