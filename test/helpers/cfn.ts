import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parts of a packaged CloudFormation template the tests read. */
export interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export async function readPackagedTemplate(dir: string): Promise<Template> {
  return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}

/** What CloudFormation would substitute at deploy time. */
export interface DeployContext {
  accountId: string;
  region: string;
  /** Stack parameters by name (unset ones resolve to their empty default). */
  parameters?: Record<string, string>;
  /** Template conditions by name. */
  conditions?: Record<string, boolean>;
  /** Ref of a stack resource -> its value (an SNS topic's ARN, for example). */
  refs?: Record<string, string>;
  /** Fn::GetAtt [resource, attribute] -> value (the default is a placeholder ARN naming the resource). */
  getAtt?: (resource: string, attribute: string) => string;
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves the intrinsic functions that keyrot's role policies use (Ref, Fn::Sub, Fn::GetAtt, Fn::If,
 * AWS::NoValue), as CloudFormation would for the given account, region, parameters and conditions.
 * Anything else is an error, so a template change this cannot follow fails loudly.
 */
export function resolveIntrinsics(value: unknown, context: DeployContext): unknown {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': context.accountId,
    'AWS::Region': context.region,
    'AWS::Partition': 'aws',
    ...context.parameters,
    ...context.refs,
  };
  const ref = (name: string): string | typeof NO_VALUE => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in pseudo) return pseudo[name] ?? '';
    throw new Error(`resolveIntrinsics: no value for Ref ${name}`);
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk).filter((v) => v !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key?.startsWith('Fn::')) {
      switch (key) {
        case 'Fn::Sub':
          if (typeof arg !== 'string') throw new Error('resolveIntrinsics: only the string form of Fn::Sub');
          return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            const [resource, attribute] = name.split('.');
            if (attribute && resource) return getAtt(resource, attribute);
            const value = ref(name);
            if (value === NO_VALUE) throw new Error('resolveIntrinsics: AWS::NoValue inside Fn::Sub');
            return value;
          });
        case 'Fn::GetAtt': {
          const [resource, attribute] = arg as [string, string];
          return getAtt(resource, attribute);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
          const holds = context.conditions?.[condition];
          if (holds === undefined) throw new Error(`resolveIntrinsics: condition ${condition} is not given`);
          return walk(holds ? whenTrue : whenFalse);
        }
        default:
          throw new Error(`resolveIntrinsics: ${key} is not supported`);
      }
    }
    if (entries.length === 1 && key === 'Ref') return ref(String(arg));
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = walk(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  const getAtt = (resource: string, attribute: string) =>
    context.getAtt?.(resource, attribute) ??
    `arn:aws:cloudformation:${context.region}:${context.accountId}:resource/${resource}/${attribute}`;
  return walk(value);
}

/** A role's inline policies and managed policy ARNs, as the stack would create them. */
export interface RolePolicies {
  inline: Array<{ name: string; document: unknown }>;
  managed: string[];
}

export function rolePolicies(template: Template, role: string, context: DeployContext): RolePolicies {
  const properties = template.Resources[role]?.Properties as
    | {
        Policies?: Array<{ PolicyName: string; PolicyDocument: unknown }>;
        ManagedPolicyArns?: unknown[];
      }
    | undefined;
  if (!properties) throw new Error(`the template has no role ${role}`);
  return {
    inline: (properties.Policies ?? []).map((p) => ({
      name: p.PolicyName,
      document: resolveIntrinsics(p.PolicyDocument, context),
    })),
    managed: (properties.ManagedPolicyArns ?? []).map((arn) => String(resolveIntrinsics(arn, context))),
  };
}
