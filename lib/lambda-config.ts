import { type Config, defaultConfig, loadJsonConfigFile } from './config.js';
import { ConfigError } from './errors.js';

let cached: Promise<Config> | undefined;

/**
 * The Lambda's config: the JSON file named by KEYROT_CONFIG_FILE, which `osls package` writes from
 * the YAML config (serverless/keyrot-config.js) and packages with the function; else the defaults.
 * Read once per container; a bad file fails every invocation with the ConfigError.
 */
export function lambdaConfig(): Promise<Config> {
  if (cached === undefined) {
    const path = process.env.KEYROT_CONFIG_FILE;
    if (path && !path.endsWith('.json')) {
      cached = Promise.reject(
        new ConfigError(
          `KEYROT_CONFIG_FILE is ${path}, but the functions read JSON only. Deploy with serverless.yml, whose keyrot-config plugin writes the JSON from your YAML config, or point KEYROT_CONFIG_FILE at a .json file.`,
        ),
      );
    } else {
      cached = path ? loadJsonConfigFile(path) : Promise.resolve(defaultConfig);
    }
  }
  return cached;
}
