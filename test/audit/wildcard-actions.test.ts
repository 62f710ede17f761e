import { loadIamActions } from '../../lib/audit/iam-actions';
import { stackTemplateOf } from '../../lib/audit/iam-acknowledgements';
import { buildIamReport } from '../../lib/audit/iam-report';
import type { CfnTemplate } from '../../lib/audit/iam-report-model';
import { EVERYTHING_ON, synth } from '../helpers/app';

/**
 * Actions that AWS offers no resource-level permission for, and so may be granted on Resource "*". The house Function
 * acknowledges AwsSolutions-IAM5[Resource::*] for its role with this reason; this test keeps the reason true.
 */
const ALLOWED_ON_STAR = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // Check canary counts the candidate's queries and shadow samples (lib/constructs/pipeline/stages/rollout.ts).
  'cloudwatch:GetMetricData',
  'bedrock:ListCustomModelDeployments',
  'bedrock:ListEvaluationJobs',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** Every action an Allow statement grants on Resource "*", from any policy of any role (the IAM report's walk). */
function starGrants(context: Record<string, unknown>): string[] {
  const { stacks, templates } = synth(context);
  const report = buildIamReport(
    [
      stackTemplateOf(stacks.pipeline, templates.pipeline.toJSON() as CfnTemplate),
      stackTemplateOf(stacks.api, templates.api.toJSON() as CfnTemplate),
    ],
    loadIamActions(),
  );
  return report.roles.flatMap((role) =>
    role.policies.flatMap((policy) =>
      policy.statements
        .filter((s) => s.effect === 'Allow' && s.resources.includes('*'))
        .flatMap((s) => s.actions.map((action) => `${role.path ?? role.logicalId} (${policy.kind}): ${action}`)),
    ),
  );
}

/** The grants whose action is not in `allowed`. */
const outside = (grants: readonly string[], allowed: ReadonlySet<string>) =>
  grants.filter((g) => !allowed.has(g.slice(g.lastIndexOf(': ') + 2)));

describe('actions granted on Resource "*"', () => {
  it.each([
    ['the default configuration', {}],
    ['every optional feature', EVERYTHING_ON],
  ])('are only those without resource-level permissions, with %s', (_name, context) => {
    const grants = starGrants(context);
    expect(grants.length).toBeGreaterThan(0);
    expect(outside(grants, ALLOWED_ON_STAR)).toEqual([]);
  });

  it('names the grants outside the allowed set (the check can fail)', () => {
    const withoutXray = new Set([...ALLOWED_ON_STAR].filter((action) => !action.startsWith('xray:')));
    const named = outside(starGrants({}), withoutXray);
    expect(named.length).toBeGreaterThan(0);
    for (const grant of named) expect(grant).toMatch(/: xray:\w+$/);
  });
});
