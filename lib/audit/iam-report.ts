import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IamActionCatalog } from './iam-actions';
import { pathOf, resourceInfo } from './iam-acknowledgements';
import { checkActions, checkIdentityStatement } from './iam-checks';
import type {
  IamReport,
  PolicyEntry,
  Problem,
  ResourceInfo,
  RoleEntry,
  StackTemplate,
  StatementEntry,
} from './iam-report-model';
import { asArray, describeStatement, describeTrust, isObject, isRef, statementList, stringOf } from './iam-statements';

/**
 * The IAM report an account admin reads instead of our code: every role of every stack (who may assume it, its
 * boundary, each allowed action on which resources), the wildcard statements with the cdk-nag acknowledgement that
 * justifies each, and the problems that must fail the build. Built from synthesized templates; the only thing a
 * template does not carry — the acknowledgement reasons and construct paths — comes from the construct tree
 * (`resourceInfoOf`).
 */

// The report's entry point for scripts/iam-report.ts: build, input and renderers in one import.
import { OPERATOR_COMMANDS, unrealOperatorActions } from './operator-needs';
export type { CfnTemplate } from './iam-report-model';
export { stackTemplateOf } from './iam-acknowledgements';
export { renderIamReportJson, renderIamReportMarkdown } from './iam-report-render';

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
  const read = stacks.map((stack) => readStack(stack, catalog, problems));
  const roles = read.flatMap((r) => r.roles);
  const unattachedPolicies = read.flatMap((r) => r.unattachedPolicies);
  const otherPolicyStatements = read.reduce((sum, r) => sum + r.otherPolicyStatements, 0);

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
  // Checked against the services the catalog knows (a partial catalog, as in tests, leaves the others alone).
  const known = (a: string) => !catalog.hasService(a.split(':')[0] ?? '') || catalog.matching(a).length > 0;
  for (const action of unrealOperatorActions(known)) {
    problems.push({
      code: 'UNKNOWN_ACTION',
      statement: 'operator commands',
      message: `operator commands: "${action}" is not a real IAM action`,
    });
  }

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
    operatorCommands: OPERATOR_COMMANDS,
    problems,
  };
}

/**
 * One stack's roles (each with the policies attached to it), its identity policies attached to none of its roles, and
 * the count of its trust and resource policy statements; the actions of those are checked into `problems`.
 */
function readStack(
  stack: StackTemplate,
  catalog: IamActionCatalog,
  problems: Problem[],
): { roles: RoleEntry[]; unattachedPolicies: PolicyEntry[]; otherPolicyStatements: number } {
  const roles: RoleEntry[] = [];
  const unattachedPolicies: PolicyEntry[] = [];
  let otherPolicyStatements = 0;
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
  return { roles, unattachedPolicies, otherPolicyStatements };
}

const uniqueBy = <T>(items: T[], key: (item: T) => string): T[] => [
  ...new Map(items.map((item) => [key(item), item])).values(),
];
