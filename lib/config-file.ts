import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Config, parseConfig, parseConfigText, readConfigText } from './config.js';
import { defaultRegistry, type TargetRegistry } from './targets/registry.js';

/** A config file's document, unvalidated: YAML (.yaml, .yml, anything else) or JSON (.json). */
export async function readConfigDocument(path: string, via = '--config'): Promise<unknown> {
  const text = await readConfigText(path, via);
  return extname(path) === '.json'
    ? parseConfigText(text, path, 'JSON', JSON.parse)
    : parseConfigText(text, path, 'YAML', parseYaml);
}

/** Reads and validates a config file (YAML or JSON). */
export async function loadConfigFile(
  path: string,
  registry: TargetRegistry = defaultRegistry,
  via = '--config',
): Promise<Config> {
  return parseConfig(await readConfigDocument(path, via), path, registry);
}
