import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import {
  findingRuleId,
  WILDCARD_RULE,
  type Acknowledgement,
  type StatementEntry,
  type TrustEntry,
} from './iam-report-model';

/** Policy statements as a template holds them, and the report's entries made from them. */

export interface PolicyStatementJson {
  readonly Sid?: unknown;
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: unknown;
}

/** One identity-policy statement as the report shows it: its wildcards, each with the acknowledgement that covers it. */
export function describeStatement(
  statement: PolicyStatementJson,
  context: {
    ref: string;
    stack: string;
    roles: readonly string[];
    acknowledgements: Readonly<Record<string, string>>;
  },
): StatementEntry {
  const actions = asArray(statement.Action).map(flattenCfnReference);
  const resources = asArray(statement.Resource).map(flattenCfnReference);
  const allow = statement.Effect === 'Allow';
  // The same findings cdk-nag's IAM5 rule raises (it flattens references the same way), so the keys match.
  const wildcardActions = allow ? actions.filter((a) => a.includes('*')) : [];
  const wildcardResources = allow ? resources.filter((r) => r.includes('*')) : [];
  const acknowledgements = [
    ...wildcardActions.map((a) => `Action::${a}`),
    ...wildcardResources.map((r) => `Resource::${r}`),
  ].map((finding): Acknowledgement => {
    // cdk-nag 3 matches a finding only by its own id (a rule-wide 'AwsSolutions-IAM5' does not cover it), and
    // aws-cdk-lib stores acknowledged ids with spaces turned into dashes.
    const ruleId = findingRuleId(finding);
    const reason = context.acknowledgements[ruleId]?.trim();
    return reason
      ? { finding, ruleId, reason }
      : { finding, ...(context.acknowledgements[WILDCARD_RULE] ? { ruleWide: true } : {}) };
  });
  return {
    ref: context.ref,
    stack: context.stack,
    roles: context.roles,
    ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
    effect: stringOf(statement.Effect ?? 'Allow'),
    actions,
    ...(statement.NotAction !== undefined ? { notActions: asArray(statement.NotAction).map(flattenCfnReference) } : {}),
    resources,
    ...(statement.NotResource !== undefined
      ? { notResources: asArray(statement.NotResource).map(flattenCfnReference) }
      : {}),
    conditions: describeConditions(statement.Condition),
    wildcardActions,
    wildcardResources,
    acknowledgements,
  };
}

export function describeTrust(statement: PolicyStatementJson): TrustEntry {
  return {
    effect: stringOf(statement.Effect ?? 'Allow'),
    actions: asArray(statement.Action).map(flattenCfnReference),
    principals: describePrincipals(statement.Principal),
    conditions: describeConditions(statement.Condition),
  };
}

function describePrincipals(principal: unknown): string[] {
  if (principal === undefined) return [];
  if (!isObject(principal) || isIntrinsic(principal)) return [flattenCfnReference(principal)];
  return Object.entries(principal).flatMap(([kind, values]) =>
    asArray(values).map((value) => `${kind}: ${flattenCfnReference(value)}`),
  );
}

function describeConditions(condition: unknown): string[] {
  if (!isObject(condition)) return [];
  return Object.entries(condition).flatMap(([operator, keys]) =>
    isObject(keys)
      ? Object.entries(keys).map(
          ([key, values]) => `${operator} ${key} = ${asArray(values).map(flattenCfnReference).join(' | ')}`,
        )
      : [`${operator} ${flattenCfnReference(keys)}`],
  );
}

export function statementList(document: unknown): PolicyStatementJson[] {
  if (!isObject(document)) return [];
  return asArray(document['Statement']).filter(isObject);
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const isRef = (value: unknown): value is { Ref: string } => isObject(value) && typeof value['Ref'] === 'string';
const isIntrinsic = (value: Record<string, unknown>) =>
  Object.keys(value).length === 1 && /^(Ref|Fn::)/.test(Object.keys(value)[0] ?? '');
export const asArray = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
export const stringOf = (value: unknown): string => (typeof value === 'string' ? value : flattenCfnReference(value));
