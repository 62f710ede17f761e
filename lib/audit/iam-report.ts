import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';
import { hasWildcard, type IamActionCatalog } from './iam-actions';

/**
 * The IAM report an account admin reads instead of our code: every role of every stack (who may assume it, its
 * boundary, each allowed action on which resources), the wildcard statements with the cdk-nag acknowledgement that
 * justifies each, and the problems that must fail the build. Built from synthesized templates; the only thing a
 * template does not carry — the acknowledgement reasons and construct paths — comes from the construct tree
 * (`resourceInfoOf`).
 */

/** The cdk-nag rule that flags wildcards in identity policies; its acknowledgements carry the reasons. */
export const WILDCARD_RULE = 'AwsSolutions-IAM5';

/** The acknowledgement id that covers one IAM5 finding, as cdk-nag 3 looks it up. */
export const findingRuleId = (finding: string): string => `${WILDCARD_RULE}[${finding}]`.replace(/ /g, '-');

// ---------------------------------------------------------------------------------------------------------------
// Input

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResourceJson>;
}

/** What the construct tree knows about one template resource. */
export interface ResourceInfo {
  readonly path?: string;
  /** Rule id (e.g. `AwsSolutions-IAM5[Resource::*]`) → reason, from the resource and its ancestors (nearest first). */
  readonly acknowledgements: Readonly<Record<string, string>>;
}

export interface StackTemplate {
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** By logical id; see `resourceInfoOf`. */
  readonly resources?: Readonly<Record<string, ResourceInfo>>;
}

// ---------------------------------------------------------------------------------------------------------------
// Report model

export interface Acknowledgement {
  /** The cdk-nag finding (`Resource::<flattened ARN>` or `Action::s3:Get*`). */
  readonly finding: string;
  /** The rule id the reason was found under, or undefined when none covers the finding. */
  readonly ruleId?: string;
  readonly reason?: string;
  /** Set when only a rule-wide acknowledgement exists, which cdk-nag 3 does not apply to single findings. */
  readonly ruleWide?: boolean;
}

export interface StatementEntry {
  /** Names the statement for humans and in error messages: stack, policy, index and Sid. */
  readonly ref: string;
  readonly stack: string;
  /** The role(s) the statement's policy is attached to (logical ids). */
  readonly roles: readonly string[];
  readonly sid?: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources: readonly string[];
  readonly notResources?: readonly string[];
  readonly conditions: readonly string[];
  readonly wildcardActions: readonly string[];
  readonly wildcardResources: readonly string[];
  readonly acknowledgements: readonly Acknowledgement[];
}

export interface PolicyEntry {
  readonly kind: 'inline' | 'AWS::IAM::Policy' | 'AWS::IAM::ManagedPolicy';
  readonly name: string;
  readonly logicalId: string;
  readonly path?: string;
  readonly statements: readonly StatementEntry[];
}

export interface TrustEntry {
  readonly effect: string;
  readonly actions: readonly string[];
  readonly principals: readonly string[];
  readonly conditions: readonly string[];
}

export interface RoleEntry {
  readonly stack: string;
  readonly logicalId: string;
  readonly path?: string;
  readonly roleName?: string;
  /** A role CDK creates for a custom-resource provider (not one of ours, but still deployed with our stacks). */
  readonly customResourceProvider: boolean;
  readonly trust: readonly TrustEntry[];
  readonly permissionsBoundary?: string;
  readonly managedPolicyArns: readonly string[];
  readonly policies: readonly PolicyEntry[];
}

export type ProblemCode =
  | 'STAR_ACTION'
  | 'UNKNOWN_ACTION'
  | 'UNKNOWN_SERVICE'
  | 'WILDCARD_WITHOUT_MATCH'
  | 'WILDCARD_RESOURCE_WITHOUT_REASON'
  | 'ALLOW_NOT_ACTION'
  | 'ALLOW_NOT_RESOURCE';

export interface Problem {
  readonly code: ProblemCode;
  /** The statement's ref. */
  readonly statement: string;
  readonly message: string;
}

export interface IamReportSummary {
  readonly stacks: readonly string[];
  readonly roles: number;
  readonly policies: number;
  readonly statements: number;
  /** Distinct allowed actions (as written: `s3:GetObject*` counts once) in the roles' policies. */
  readonly actions: number;
  readonly wildcardStatements: number;
  readonly services: readonly string[];
  /** Statements of resource policies (bucket, key, topic…) and trust policies, checked for real actions only. */
  readonly otherPolicyStatements: number;
  readonly problems: number;
}

export interface IamReport {
  readonly summary: IamReportSummary;
  readonly roles: readonly RoleEntry[];
  /** Identity-policy statements not attached to a role of these stacks (users, groups, imported roles). */
  readonly unattachedPolicies: readonly PolicyEntry[];
  readonly wildcardStatements: readonly StatementEntry[];
  readonly problems: readonly Problem[];
}

// ---------------------------------------------------------------------------------------------------------------
// Building the report

interface PolicyStatementJson {
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

/** Resource types whose policy documents are not identity policies: only their actions are checked. */
const RESOURCE_POLICY_DOCUMENTS: Readonly<Record<string, string>> = {
  'AWS::S3::BucketPolicy': 'PolicyDocument',
  'AWS::SNS::TopicPolicy': 'PolicyDocument',
  'AWS::SQS::QueuePolicy': 'PolicyDocument',
  'AWS::KMS::Key': 'KeyPolicy',
  'AWS::Logs::ResourcePolicy': 'PolicyDocument',
  'AWS::Events::EventBusPolicy': 'Statement',
  'AWS::ApiGateway::RestApi': 'Policy',
  'AWS::SecretsManager::ResourcePolicy': 'ResourcePolicy',
};

const PROVIDER_ROLE =
  /CustomResourceProvider|LogRetention[0-9a-f]{32}|AWS679f53fac002430cb0da5b7982bd2287|framework-on/i;

/** Builds the report and its problems from the templates; `catalog` is the list of real IAM actions. */
export function buildIamReport(stacks: readonly StackTemplate[], catalog: IamActionCatalog): IamReport {
  const problems: Problem[] = [];
  const roles: RoleEntry[] = [];
  const unattachedPolicies: PolicyEntry[] = [];
  let otherPolicyStatements = 0;

  for (const stack of stacks) {
    const resources = stack.template.Resources ?? {};
    const infoOf = (logicalId: string): ResourceInfo => resourceInfo(stack, logicalId);
    // How a statement's ref names its resource: construct path (or stack/logical id) and the template's logical id.
    const where = (logicalId: string) => {
      const resource = resources[logicalId];
      const path = resource ? pathOf(stack, logicalId, resource) : undefined;
      return `${path ?? `${stack.stackName}/${logicalId}`} [${logicalId}]`;
    };
    const statementsOf = (
      document: unknown,
      label: string,
      ackSource: string,
      attachedTo: readonly string[],
    ): StatementEntry[] =>
      statementList(document).map((statement, index) =>
        describeStatement(statement, {
          ref: `${label} statement #${index + 1}${typeof statement.Sid === 'string' ? ` (${statement.Sid})` : ''}`,
          stack: stack.stackName,
          roles: attachedTo,
          acknowledgements: infoOf(ackSource).acknowledgements,
        }),
      );

    // Policies (and managed policies) attached to roles by reference.
    const attached = new Map<string, PolicyEntry[]>();
    const managedByRef = new Map<string, PolicyEntry>();
    const usedManaged = new Set<PolicyEntry>();
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const props = resource.Properties ?? {};
      const roleRefs = asArray(props['Roles']).flatMap((r) => (isRef(r) && resources[r.Ref] ? [r.Ref] : []));
      const path = pathOf(stack, logicalId, resource);
      const name = typeof props['PolicyName'] === 'string' ? props['PolicyName'] : logicalId;
      const policy: PolicyEntry = {
        kind: resource.Type,
        name: resource.Type === 'AWS::IAM::ManagedPolicy' ? stringOf(props['ManagedPolicyName'] ?? logicalId) : name,
        logicalId,
        ...(path ? { path } : {}),
        statements: statementsOf(props['PolicyDocument'], `${resource.Type} ${where(logicalId)}`, logicalId, roleRefs),
      };
      if (resource.Type === 'AWS::IAM::ManagedPolicy') managedByRef.set(logicalId, policy);
      if (roleRefs.length === 0) unattachedPolicies.push(policy);
      for (const role of roleRefs) attached.set(role, [...(attached.get(role) ?? []), policy]);
    }

    for (const [logicalId, resource] of Object.entries(resources)) {
      const props = resource.Properties ?? {};
      if (resource.Type === 'AWS::IAM::Role') {
        const path = pathOf(stack, logicalId, resource);
        const roleLabel = `role ${where(logicalId)}`;
        const inline: PolicyEntry[] = asArray(props['Policies']).map((p, i) => {
          const policy = isObject(p) ? p : {};
          const name = typeof policy['PolicyName'] === 'string' ? policy['PolicyName'] : `#${i + 1}`;
          return {
            kind: 'inline',
            name,
            logicalId,
            ...(path ? { path } : {}),
            statements: statementsOf(policy['PolicyDocument'], `${roleLabel} inline policy "${name}"`, logicalId, [
              logicalId,
            ]),
          };
        });
        const managedArns = asArray(props['ManagedPolicyArns']);
        const localManaged = managedArns.flatMap((arn) =>
          isRef(arn) && managedByRef.has(arn.Ref) ? [managedByRef.get(arn.Ref) as PolicyEntry] : [],
        );
        const attachedManaged = (attached.get(logicalId) ?? []).filter((p) => !localManaged.includes(p));
        for (const policy of localManaged) usedManaged.add(policy);
        const trustStatements = statementList(props['AssumeRolePolicyDocument']);
        otherPolicyStatements += trustStatements.length;
        trustStatements.forEach((statement, index) =>
          checkActions(statement, `${roleLabel} trust policy statement #${index + 1}`, catalog, problems),
        );
        roles.push({
          stack: stack.stackName,
          logicalId,
          ...(path ? { path } : {}),
          ...(props['RoleName'] !== undefined ? { roleName: flattenCfnReference(props['RoleName']) } : {}),
          customResourceProvider: PROVIDER_ROLE.test(`${path ?? ''} ${logicalId}`),
          trust: trustStatements.map(describeTrust),
          ...(props['PermissionsBoundary'] !== undefined
            ? { permissionsBoundary: flattenCfnReference(props['PermissionsBoundary']) }
            : {}),
          managedPolicyArns: managedArns.map((arn) =>
            isRef(arn) && managedByRef.has(arn.Ref)
              ? `${arn.Ref} (customer managed, in this stack)`
              : flattenCfnReference(arn),
          ),
          policies: [...inline, ...attachedManaged, ...localManaged],
        });
      }
      if (resource.Type === 'AWS::Lambda::Permission') {
        // A one-statement resource policy: its Action is a property of its own.
        otherPolicyStatements += 1;
        checkActions(
          { Effect: 'Allow', Action: props['Action'] },
          `${resource.Type} ${where(logicalId)}`,
          catalog,
          problems,
        );
      }
      const documentKey = RESOURCE_POLICY_DOCUMENTS[resource.Type];
      if (documentKey) {
        const label = `${resource.Type} ${where(logicalId)}`;
        const statements = statementList(props[documentKey]);
        otherPolicyStatements += statements.length;
        statements.forEach((statement, index) =>
          checkActions(statement, `${label} statement #${index + 1}`, catalog, problems),
        );
      }
    }
    // A managed policy attached through a role's ManagedPolicyArns is reported with that role.
    for (const policy of usedManaged) {
      const index = unattachedPolicies.indexOf(policy);
      if (index >= 0) unattachedPolicies.splice(index, 1);
    }
  }

  // Identity-policy statements (each once, even when a policy is attached to several roles).
  const identityPolicies = uniqueBy(
    [...roles.flatMap((r) => r.policies), ...unattachedPolicies],
    (p) => `${p.kind}:${p.logicalId}:${p.name}`,
  );
  const identityStatements = identityPolicies.flatMap((p) => p.statements);
  for (const statement of identityStatements) checkIdentityStatement(statement, catalog, problems);

  const allowed = identityStatements.filter((s) => s.effect === 'Allow');
  const actions = new Set(allowed.flatMap((s) => s.actions));
  const services = new Set([...actions].map((a) => (a === '*' ? '*' : (a.split(':')[0]?.toLowerCase() ?? a))));
  const wildcardStatements = allowed.filter((s) => s.wildcardResources.length > 0 || s.wildcardActions.length > 0);

  return {
    summary: {
      stacks: stacks.map((s) => s.stackName),
      roles: roles.length,
      policies: identityPolicies.length,
      statements: identityStatements.length,
      actions: actions.size,
      wildcardStatements: wildcardStatements.length,
      services: [...services].sort(),
      otherPolicyStatements,
      problems: problems.length,
    },
    roles,
    unattachedPolicies,
    wildcardStatements,
    problems,
  };
}

function describeStatement(
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

function checkIdentityStatement(statement: StatementEntry, catalog: IamActionCatalog, problems: Problem[]): void {
  checkActionList(
    [...statement.actions, ...(statement.notActions ?? [])],
    statement.effect,
    statement.ref,
    catalog,
    problems,
  );
  if (statement.effect !== 'Allow') return;
  if (statement.notActions) {
    problems.push({
      code: 'ALLOW_NOT_ACTION',
      statement: statement.ref,
      message: `${statement.ref}: Allow with NotAction grants every other action; list the actions instead`,
    });
  }
  if (statement.notResources) {
    problems.push({
      code: 'ALLOW_NOT_RESOURCE',
      statement: statement.ref,
      message: `${statement.ref}: Allow with NotResource grants every other resource; list the resources instead`,
    });
  }
  for (const ack of statement.acknowledgements) {
    if (ack.reason || !ack.finding.startsWith('Resource::')) continue;
    const resource = ack.finding.slice('Resource::'.length);
    problems.push({
      code: 'WILDCARD_RESOURCE_WITHOUT_REASON',
      statement: statement.ref,
      message:
        `${statement.ref}: wildcard resource "${resource}" (actions ${statement.actions.join(', ')}) has no stated ` +
        `reason: narrow it, or acknowledge it next to the resource with Validations.of(construct).acknowledge({ id: ` +
        `'${findingRuleId(ack.finding)}', reason: 'why AWS gives no narrower ARN' })` +
        (ack.ruleWide ? ` (a rule-wide '${WILDCARD_RULE}' acknowledgement does not cover single findings)` : ''),
    });
  }
}

/** Actions of a resource or trust policy statement: real actions, and never `*` in an Allow. */
function checkActions(statement: PolicyStatementJson, ref: string, catalog: IamActionCatalog, problems: Problem[]) {
  const actions = [...asArray(statement.Action), ...asArray(statement.NotAction)].map(flattenCfnReference);
  checkActionList(actions, stringOf(statement.Effect ?? 'Allow'), ref, catalog, problems);
}

function checkActionList(
  actions: readonly string[],
  effect: string,
  ref: string,
  catalog: IamActionCatalog,
  problems: Problem[],
): void {
  for (const action of actions) {
    if (action === '*') {
      // A Deny of everything (e.g. a guard statement) grants nothing; an Allow of everything is never least privilege.
      if (effect === 'Allow') {
        problems.push({
          code: 'STAR_ACTION',
          statement: ref,
          message: `${ref}: action "*" allows every action of every service; list the actions the code calls`,
        });
      }
      continue;
    }
    if (catalog.matching(action).length > 0) continue;
    const service = action.split(':')[0] ?? action;
    if (!action.includes(':') || !catalog.hasService(service)) {
      problems.push({
        code: 'UNKNOWN_SERVICE',
        statement: ref,
        message: `${ref}: "${action}" is not an IAM action: no service "${service}" (expected "<service>:<Action>")`,
      });
    } else if (hasWildcard(action)) {
      problems.push({
        code: 'WILDCARD_WITHOUT_MATCH',
        statement: ref,
        message: `${ref}: "${action}" matches no real ${service} action`,
      });
    } else {
      const near = nearestActions(action, catalog);
      problems.push({
        code: 'UNKNOWN_ACTION',
        statement: ref,
        message: `${ref}: "${action}" is not a real IAM action${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`,
      });
    }
  }
}

/** Up to two real actions of the same service that share the longest prefix and suffix with a misspelt one. */
function nearestActions(action: string, catalog: IamActionCatalog): string[] {
  const [service = '', name = ''] = action.split(':');
  const lower = name.toLowerCase();
  const score = (candidate: string) => {
    const c = (candidate.split(':')[1] ?? '').toLowerCase();
    let prefix = 0;
    while (prefix < c.length && c[prefix] === lower[prefix]) prefix++;
    let suffix = 0;
    while (suffix < c.length - prefix && c[c.length - 1 - suffix] === lower[lower.length - 1 - suffix]) suffix++;
    return prefix + suffix;
  };
  return catalog
    .matching(`${service}:*`)
    .map((candidate) => ({ candidate, score: score(candidate) }))
    .filter((c) => c.score >= Math.min(6, lower.length / 2))
    .sort((a, b) => b.score - a.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 2)
    .map((c) => c.candidate);
}

function describeTrust(statement: PolicyStatementJson): TrustEntry {
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

function resourceInfo(stack: StackTemplate, logicalId: string): ResourceInfo {
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

function pathOf(stack: StackTemplate, logicalId: string, resource: CfnResourceJson): string | undefined {
  const fromTemplate = resource.Metadata?.['aws:cdk:path'];
  return typeof fromTemplate === 'string' ? fromTemplate : stack.resources?.[logicalId]?.path;
}

function statementList(document: unknown): PolicyStatementJson[] {
  if (!isObject(document)) return [];
  return asArray(document['Statement']).filter(isObject);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isRef = (value: unknown): value is { Ref: string } => isObject(value) && typeof value['Ref'] === 'string';
const isIntrinsic = (value: Record<string, unknown>) =>
  Object.keys(value).length === 1 && /^(Ref|Fn::)/.test(Object.keys(value)[0] ?? '');
const asArray = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const stringOf = (value: unknown): string => (typeof value === 'string' ? value : flattenCfnReference(value));
const uniqueBy = <T>(items: T[], key: (item: T) => string): T[] => [
  ...new Map(items.map((item) => [key(item), item])).values(),
];

// ---------------------------------------------------------------------------------------------------------------
// The construct tree: acknowledgement reasons and paths (not carried by a template)

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

// ---------------------------------------------------------------------------------------------------------------
// Renderers

/** The report as JSON (what `cdk.out/iam-report.json` holds). */
export const renderIamReportJson = (report: IamReport): string => `${JSON.stringify(report, null, 2)}\n`;

/** The report as Markdown (what `cdk.out/iam-report.md` holds): summary, problems, wildcards, then role by role. */
export function renderIamReportMarkdown(report: IamReport): string {
  const { summary } = report;
  const lines: string[] = [
    '# IAM report',
    '',
    `Generated from the synthesized templates of ${summary.stacks.map((s) => `\`${s}\``).join(', ')} by ` +
      '`npm run iam-report`. Resources are shown as in the template: `<LogicalId.Attribute>` stands for a ' +
      'reference to a resource of the stack, `<AWS::Partition>` etc. for pseudo parameters.',
    '',
    '## Summary',
    '',
    table(
      [
        'roles',
        'identity policies',
        'statements',
        'distinct actions',
        'wildcard statements',
        'services touched',
        'problems',
      ],
      [
        [
          String(summary.roles),
          String(summary.policies),
          String(summary.statements),
          String(summary.actions),
          String(summary.wildcardStatements),
          String(summary.services.length),
          String(summary.problems),
        ],
      ],
    ),
    '',
    `Services: ${summary.services.map((s) => `\`${s}\``).join(', ') || '—'}.`,
    `Also checked for real actions: ${summary.otherPolicyStatements} statements of trust and resource policies.`,
    '',
  ];

  lines.push('## Problems', '');
  if (report.problems.length === 0)
    lines.push('None: every action is real, no action is `*`, every wildcard resource has a stated reason.');
  for (const problem of report.problems) lines.push(`- **${problem.code}** — ${escapeInline(problem.message)}`);
  lines.push('');

  lines.push('## Wildcard statements', '');
  if (report.wildcardStatements.length === 0) lines.push('None.');
  else {
    lines.push(
      table(
        ['statement', 'actions', 'wildcard', 'reason (cdk-nag acknowledgement)'],
        report.wildcardStatements.flatMap((s) =>
          s.acknowledgements.map((ack) => [
            s.ref,
            s.actions.map(code).join('<br>'),
            code(ack.finding),
            ack.reason ? `${ack.reason} (${code(ack.ruleId ?? '')})` : '**none**',
          ]),
        ),
      ),
    );
  }
  lines.push('');

  lines.push('## Roles', '');
  for (const role of report.roles) {
    lines.push(`### ${role.path ?? role.logicalId}`, '');
    lines.push(
      `- Stack: \`${role.stack}\`, logical id \`${role.logicalId}\`${role.roleName ? `, name \`${role.roleName}\`` : ''}`,
    );
    if (role.customResourceProvider) lines.push('- Created by CDK for a custom-resource provider');
    for (const trust of role.trust) {
      lines.push(
        `- ${trust.effect === 'Allow' ? 'Assumable by' : 'Denied to'} ${trust.principals.map(code).join(', ') || '—'} ` +
          `(${trust.actions.map(code).join(', ')})` +
          (trust.conditions.length ? ` when ${trust.conditions.map(code).join(' and ')}` : ''),
      );
    }
    lines.push(`- Permissions boundary: ${role.permissionsBoundary ? code(role.permissionsBoundary) : 'none'}`);
    lines.push(`- Managed policies: ${role.managedPolicyArns.map(code).join(', ') || 'none'}`);
    const statements = role.policies.flatMap((p) => p.statements.map((s) => ({ policy: p, s })));
    if (statements.length === 0) lines.push('- No inline or attached policy statements');
    else {
      lines.push(
        '',
        table(
          ['policy', 'effect', 'actions', 'resources', 'conditions'],
          statements.map(({ policy, s }) => [
            `${policy.kind === 'inline' ? 'inline' : policy.kind.replace('AWS::IAM::', '')} ${code(policy.name)}`,
            s.effect,
            [...s.actions.map(code), ...(s.notActions ?? []).map((a) => `not ${code(a)}`)].join('<br>'),
            [...s.resources.map(code), ...(s.notResources ?? []).map((r) => `not ${code(r)}`)].join('<br>'),
            s.conditions.map(code).join('<br>') || '—',
          ]),
        ),
      );
    }
    lines.push('');
  }

  if (report.unattachedPolicies.length > 0) {
    lines.push('## Policies not attached to a role of these stacks', '');
    for (const policy of report.unattachedPolicies) {
      lines.push(`- ${policy.kind} \`${policy.path ?? policy.logicalId}\`: ${policy.statements.length} statement(s)`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const escapeInline = (text: string) => text.replace(/\n/g, ' ');
const code = (text: string) => (text ? `\`${text.replace(/`/g, "'")}\`` : '');

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}
