import { loadIamActions } from '../../lib/audit/iam-actions';
import { stackTemplateOf } from '../../lib/audit/iam-acknowledgements';
import { buildIamReport } from '../../lib/audit/iam-report';
import type { CfnResourceJson, CfnTemplate } from '../../lib/audit/iam-report-model';
import { renderIamReportMarkdown } from '../../lib/audit/iam-report-render';
import { EVERYTHING_ON, synth } from '../helpers/app';

/**
 * The IAM check of `npm run iam-report`, run over the app's real synthesized templates, so that `npm test` fails on
 * a misspelt action (e.g. `bedrock:CreateModelDistillationJob`), an action `*` or an unjustified wildcard resource
 * anywhere in either stack. One synth, with every optional feature on (the most roles).
 */

const catalog = loadIamActions();
const { stacks, templates } = synth(EVERYTHING_ON);
const inputs = () => [
  stackTemplateOf(stacks.pipeline, templates.pipeline.toJSON() as CfnTemplate),
  stackTemplateOf(stacks.api, templates.api.toJSON() as CfnTemplate),
];

describe('the IAM of the synthesized stacks', () => {
  const report = buildIamReport(inputs(), catalog);

  it('has only real actions, no "*" action and a stated reason for every wildcard resource', () => {
    expect(report.problems.map((p) => p.message)).toEqual([]);
  });

  it('reports every role of both stacks, each with the configured permissions boundary', () => {
    const roleCount = [templates.pipeline, templates.api]
      .map((t) => Object.keys(t.findResources('AWS::IAM::Role')).length)
      .reduce((a, b) => a + b, 0);
    expect(report.summary.roles).toBe(roleCount);
    expect(roleCount).toBeGreaterThan(0);
    expect(report.roles).toHaveLength(roleCount);
    for (const role of report.roles) {
      expect(role.path).toMatch(/^IntentRouter-dev-(Pipeline|Api)\//);
      expect(role.permissionsBoundary).toBe('arn:aws:iam::123456789012:policy/ProjectBoundary');
    }
    expect(renderIamReportMarkdown(report)).toContain('## Roles');
  });

  it('fails when a misspelt action is added to a real template (the check can fail)', () => {
    const [pipeline, api] = inputs();
    if (!pipeline || !api) throw new Error('two stacks expected');
    const template = structuredClone(pipeline.template) as { Resources: Record<string, CfnResourceJson> };
    const role = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::IAM::Role')?.[0];
    template.Resources['Injected'] = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'injected',
        Roles: [{ Ref: role }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'bedrock:CreateModelDistillationJob',
              Resource: 'arn:aws:bedrock:us-east-1:123456789012:model-customization-job/run-1',
            },
          ],
        },
      },
    };
    const broken = buildIamReport([{ ...pipeline, template }, api], catalog);
    expect(broken.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/\[Injected\] statement #1: "bedrock:CreateModelDistillationJob" is not a real IAM action/),
    ]);
  });
});
