import { synth } from '../helpers/app';

/**
 * Actions that AWS offers no resource-level permission for, and so may be granted on Resource "*". The house Function
 * acknowledges AwsSolutions-IAM5[Resource::*] for its role with this reason; this test keeps the reason true.
 */
const ALLOWED_ON_STAR = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
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

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
}

function starGrants(context: Record<string, unknown>): string[] {
  const { templates } = synth(context);
  const grants: string[] = [];
  for (const [name, template] of Object.entries(templates)) {
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if (statement.Effect !== 'Allow' || ![statement.Resource].flat().includes('*')) continue;
        for (const action of [statement.Action].flat()) grants.push(`${name}/${id}: ${action}`);
      }
    }
  }
  return grants;
}

describe('actions granted on Resource "*"', () => {
  it.each([
    ['the default configuration', {}],
    ['every optional feature', { apiAuth: 'apiKey', fallbackModelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' }],
  ])('are only those without resource-level permissions, with %s', (_name, context) => {
    const grants = starGrants(context);
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.filter((g) => !ALLOWED_ON_STAR.has(g.slice(g.lastIndexOf(': ') + 2)))).toEqual([]);
  });
});
