import type { OperatorCommand } from './operator-needs';
/**
 * What the IAM report reads (synthesized templates, plus what the construct tree knows) and what it holds (roles,
 * policies, statements, problems): the types lib/audit/iam-report.ts builds and its renderers print.
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
  /** What the operator commands need from IAM (run with the operator's credentials, no role of the stacks). */
  readonly operatorCommands: readonly OperatorCommand[];
  readonly problems: readonly Problem[];
}
