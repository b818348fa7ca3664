// An osls plugin: validates keyrot's config (YAML or JSON) whenever the service is packaged or
// deployed, and writes it as the JSON file the functions read, so no YAML parser ships in their
// bundles. An invalid config stops `osls package` / `osls deploy` before anything is built or uploaded.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export default class KeyrotConfigPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    const write = () => this.writeConfig();
    this.hooks = {
      'before:package:createDeploymentArtifacts': write,
      'before:deploy:function:packageFunction': write,
    };
  }

  async writeConfig() {
    const ServerlessError = this.serverless.classes.Error;
    const { configFile, lambdaConfigFile } = this.serverless.service.custom?.keyrot ?? {};
    if (!configFile || !lambdaConfigFile) {
      throw new ServerlessError(
        'serverless.yml needs custom.keyrot.configFile and custom.keyrot.lambdaConfigFile.',
      );
    }
    let lib;
    try {
      lib = {
        ...(await import('../dist/lib/config.js')),
        ...(await import('../dist/lib/config-file.js')),
      };
    } catch (error) {
      throw new ServerlessError(
        `keyrot is not built (${error.code ?? error.message}). Run "npm ci" or "npm run build" first.`,
      );
    }
    let document;
    try {
      document = await lib.readConfigDocument(resolve(this.serverless.serviceDir, configFile));
      lib.parseConfig(document, configFile);
    } catch (error) {
      throw new ServerlessError(error.message);
    }
    const target = resolve(this.serverless.serviceDir, lambdaConfigFile);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, `${JSON.stringify(document ?? {}, null, 2)}\n`);
    this.log.info(`keyrot: ${configFile} is valid; the functions read it as ${lambdaConfigFile}`);
  }
}
