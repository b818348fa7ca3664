// An osls plugin: removes the DependsOn entries that a resource's own Ref / Fn::GetAtt / Fn::Sub
// already imply. osls adds `DependsOn: [<Fn>LogGroup, <custom role>]` to every function, while the
// function also names that role with Fn::GetAtt; cfn-lint warns about it (W3005), and CloudFormation
// validators that treat warnings as errors (moto's ValidateTemplate) refuse the whole template. The
// order CloudFormation creates resources in does not change: a reference is a dependency already.

/** Every logical id a value refers to with Ref, Fn::GetAtt or Fn::Sub. */
export function referencedIds(value, found = new Set()) {
  if (Array.isArray(value)) {
    for (const item of value) referencedIds(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value)) {
      if (key === 'Ref' && typeof arg === 'string') found.add(arg);
      else if (key === 'Fn::GetAtt') {
        const id = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
        if (typeof id === 'string') found.add(id);
        else referencedIds(arg, found);
      } else if (key === 'Fn::Sub') {
        const [text, variables] = Array.isArray(arg) ? arg : [arg, undefined];
        if (typeof text === 'string') {
          for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
            if (!variables || !(name in variables)) found.add(name.split('.')[0]);
          }
        }
        if (variables) referencedIds(variables, found);
      } else {
        referencedIds(arg, found);
      }
    }
  }
  return found;
}

/** Drops, in place, each DependsOn entry the resource already references; returns what was dropped. */
export function dropRedundantDependsOn(template) {
  const dropped = [];
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.DependsOn === undefined) continue;
    const dependsOn = Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    const referenced = referencedIds(resource.Properties);
    const kept = dependsOn.filter((dependency) => !referenced.has(dependency));
    for (const dependency of dependsOn)
      if (!kept.includes(dependency)) dropped.push(`${id} -> ${dependency}`);
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
  return dropped;
}

export default class RedundantDependsOnPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    // After custom resources are merged in, before the template is written.
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => this.clean(),
    };
  }

  clean() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const dropped = dropRedundantDependsOn(template);
    if (dropped.length > 0)
      this.log.info(`keyrot: dropped DependsOn implied by references: ${dropped.join(', ')}`);
  }
}
