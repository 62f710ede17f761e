import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CfnResourceJson, CfnTemplate, ResourceInfo, StackTemplate } from './iam-report-model';
import { asArray, isObject } from './iam-statements';

/**
 * Where a resource's construct path and cdk-nag acknowledgements come from: the construct tree (`resourceInfoOf`, the
 * only thing a template does not carry) or, for templates synthesized elsewhere, the template's metadata.
 */

/** A resource's path and acknowledgements: the construct tree's, over those in the template's metadata. */
export function resourceInfo(stack: StackTemplate, logicalId: string): ResourceInfo {
  const fromTree = stack.resources?.[logicalId];
  const fromTemplate = templateAcknowledgements(stack.template.Resources?.[logicalId]);
  return {
    ...(fromTree?.path ? { path: fromTree.path } : {}),
    acknowledgements: { ...fromTemplate, ...fromTree?.acknowledgements },
  };
}

/**
 * Acknowledgements written into the template's `cdk_nag` metadata (cdk-nag's WriteNagSuppressionsToCloudFormation
 * aspect, or the v2 `applies_to` format), for templates synthesized elsewhere.
 */
function templateAcknowledgements(resource: CfnResourceJson | undefined): Record<string, string> {
  const nag = resource?.Metadata?.['cdk_nag'];
  const rules = isObject(nag) ? asArray(nag['rules_to_suppress']) : [];
  const result: Record<string, string> = {};
  for (const rule of rules) {
    if (!isObject(rule) || typeof rule['id'] !== 'string' || typeof rule['reason'] !== 'string') continue;
    const appliesTo = asArray(rule['applies_to']).filter((a): a is string => typeof a === 'string');
    if (appliesTo.length === 0) result[rule['id']] = rule['reason'];
    for (const finding of appliesTo) result[`${rule['id']}[${finding}]`] = rule['reason'];
  }
  return result;
}

export function pathOf(stack: StackTemplate, logicalId: string, resource: CfnResourceJson): string | undefined {
  const fromTemplate = resource.Metadata?.['aws:cdk:path'];
  return typeof fromTemplate === 'string' ? fromTemplate : stack.resources?.[logicalId]?.path;
}

/**
 * For every CloudFormation resource of `stack`, its construct path and the cdk-nag acknowledgements that cover it —
 * those recorded on it and on its ancestors, exactly where cdk-nag's own check looks (nearest wins).
 */
export function resourceInfoOf(stack: Stack): Record<string, ResourceInfo> {
  const result: Record<string, ResourceInfo> = {};
  for (const construct of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(construct) || Stack.of(construct) !== stack) continue;
    const logicalId = stack.resolve(construct.logicalId) as string;
    result[logicalId] = { path: construct.node.path, acknowledgements: acknowledgementsOf(construct) };
  }
  return result;
}

function acknowledgementsOf(construct: IConstruct): Record<string, string> {
  const found: Record<string, string> = {};
  for (let current: IConstruct | undefined = construct; current; current = current.node.scope) {
    for (const entry of current.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !isObject(entry.data)) continue;
      for (const [qualifiedId, reason] of Object.entries(entry.data)) {
        // aws-cdk-lib qualifies the ids with the plugin namespace ('Annotation::'), as cdk-nag strips it.
        const id = qualifiedId.replace(/^annotation::/i, '');
        if (!(id in found) && typeof reason === 'string') found[id] = reason;
      }
    }
  }
  return found;
}

/** The report input for one synthesized stack: its template plus what the construct tree knows. */
export const stackTemplateOf = (stack: Stack, template: CfnTemplate): StackTemplate => ({
  stackName: stack.stackName,
  template,
  resources: resourceInfoOf(stack),
});
