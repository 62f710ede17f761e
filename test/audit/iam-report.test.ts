import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { catalogOf, loadIamActions } from '../../lib/audit/iam-actions';
import { stackTemplateOf } from '../../lib/audit/iam-acknowledgements';
import { buildIamReport } from '../../lib/audit/iam-report';
import type { CfnTemplate, IamReport } from '../../lib/audit/iam-report-model';
import { renderIamReportJson, renderIamReportMarkdown } from '../../lib/audit/iam-report-render';
import { nagFindings } from '../helpers/app';

const catalog = loadIamActions();

describe('the IAM action catalog (from iam-floyd)', () => {
  it('knows the Bedrock, S3 and STS actions the project uses, case-insensitively', () => {
    expect(catalog.size).toBeGreaterThan(10000);
    for (const action of [
      'bedrock:CreateModelCustomizationJob',
      'bedrock:CreateCustomModelDeployment',
      'bedrock:CreateEvaluationJob',
      'bedrock:InvokeModel',
      's3:GetObject',
      'sts:AssumeRole',
      'iam:PassRole',
    ]) {
      expect(catalog.matching(action)).toEqual([action]);
    }
    expect(catalog.matching('BEDROCK:invokemodel')).toEqual(['bedrock:InvokeModel']);
  });

  it('rejects a misspelt action and expands wildcard patterns to real actions only', () => {
    expect(catalog.matching('bedrock:CreateModelDistillationJob')).toEqual([]);
    expect(catalog.matching('s3:GetObject*')).toEqual(expect.arrayContaining(['s3:GetObject', 's3:GetObjectTagging']));
    expect(catalog.matching('s3:GetObject*').every((a) => a.startsWith('s3:GetObject'))).toBe(true);
    expect(catalog.matching('s3:?etObject')).toEqual(['s3:GetObject']);
    expect(catalog.matching('s3:Frobnicate*')).toEqual([]);
    expect(catalog.hasService('bedrok')).toBe(false);
  });
});

/** One fixture stack, synthesized once: a role per scenario, acknowledgements placed as the stacks place them. */
function fixture() {
  const app = new App();
  const stack = new Stack(app, 'Fixture', { env: { account: '123456789012', region: 'us-east-1' } });
  const bedrockTrust = new iam.ServicePrincipal('bedrock.amazonaws.com', {
    conditions: {
      StringEquals: { 'aws:SourceAccount': '123456789012' },
      ArnLike: { 'aws:SourceArn': 'arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*' },
    },
  });

  // Compliant: exact actions, a wildcard acknowledged with its finding id, one acknowledged on an ancestor.
  const tracing = new Construct(stack, 'Tracing');
  const good = new iam.Role(tracing, 'Good', { assumedBy: bedrockTrust });
  iam.PermissionsBoundary.of(good).apply(
    iam.ManagedPolicy.fromManagedPolicyArn(stack, 'Boundary', 'arn:aws:iam::123456789012:policy/Boundary'),
  );
  good.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['bedrock:InvokeModel'],
      resources: ['arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0'],
    }),
  );
  good.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject*'], resources: ['arn:aws:s3:::fixture-bucket/runs/*'] }),
  );
  good.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
  good.addToPrincipalPolicy(
    new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['*'], resources: ['arn:aws:s3:::other/*'] }),
  );
  Validations.of(good).acknowledge(
    { id: 'AwsSolutions-IAM5[Resource::arn:aws:s3:::fixture-bucket/runs/*]', reason: 'Objects of this run only.' },
    { id: 'AwsSolutions-IAM5[Action::s3:GetObject*]', reason: 'GetObject and its version/tagging reads.' },
  );
  Validations.of(tracing).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray has no resource-level permissions.',
  });

  const typo = new iam.Role(stack, 'Typo', { assumedBy: bedrockTrust });
  typo.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'Distil',
      actions: ['bedrock:CreateModelDistillationJob'],
      resources: ['arn:aws:bedrock:us-east-1:123456789012:model-customization-job/run-1'],
    }),
  );

  const star = new iam.Role(stack, 'Star', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  star.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['*'], resources: ['arn:aws:s3:::fixture-bucket'] }));
  Validations.of(star).acknowledge({
    id: 'AwsSolutions-IAM5[Action::*]',
    reason: 'An acknowledgement does not excuse "*".',
  });

  const unjustified = new iam.Role(stack, 'Unjustified', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  unjustified.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: ['*'] }));
  // cdk-nag 3 does not apply a rule-wide acknowledgement to a single finding: neither do we.
  Validations.of(unjustified).acknowledge({ id: 'AwsSolutions-IAM5', reason: 'rule-wide' });

  const patterns = new iam.Role(stack, 'Patterns', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  patterns.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:Frobnicate*', 'bedrok:InvokeModel'],
      resources: ['arn:aws:s3:::fixture-bucket'],
    }),
  );
  Validations.of(patterns).acknowledge({ id: 'AwsSolutions-IAM5[Action::s3:Frobnicate*]', reason: 'test' });

  // A resource policy: only its actions are checked (a key or bucket policy's "*" resource means "this resource").
  const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObjekt'],
      principals: [new iam.AccountRootPrincipal()],
      resources: [bucket.arnForObjects('*')],
    }),
  );

  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  return { stack, template, report: buildIamReport([stackTemplateOf(stack, template)], catalog) };
}

describe('buildIamReport over a fixture stack', () => {
  const { stack, report } = fixture();
  const problemsOf = (role: string) => report.problems.filter((p) => p.statement.includes(`Fixture/${role}/`));

  it('passes a role whose wildcards all carry a reason, and shows the reasons', () => {
    expect(problemsOf('Tracing/Good')).toEqual([]);
    const reasons = report.wildcardStatements
      .filter((s) => s.ref.includes('Tracing/Good'))
      .flatMap((s) => s.acknowledgements.map((a) => [a.finding, a.reason]));
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['Action::s3:GetObject*', 'GetObject and its version/tagging reads.'],
        ['Resource::arn:aws:s3:::fixture-bucket/runs/*', 'Objects of this run only.'],
        ['Resource::*', 'X-Ray has no resource-level permissions.'],
      ]),
    );
  });

  it('fails the typo bedrock:CreateModelDistillationJob, naming the statement and the real action', () => {
    expect(problemsOf('Typo')).toEqual([
      expect.objectContaining({
        code: 'UNKNOWN_ACTION',
        statement: expect.stringMatching(
          /Fixture\/Typo\/DefaultPolicy\/Resource \[TypoDefaultPolicy\w+\] statement #1 \(Distil\)/,
        ),
        message: expect.stringMatching(
          /"bedrock:CreateModelDistillationJob" is not a real IAM action; did you mean bedrock:CreateModelCustomizationJob/,
        ),
      }),
    ]);
  });

  it('fails an Allow of action "*" even when acknowledged, but not a Deny of "*"', () => {
    expect(problemsOf('Star').map((p) => p.code)).toEqual(['STAR_ACTION']);
    expect(report.problems.filter((p) => p.code === 'STAR_ACTION')).toHaveLength(1);
  });

  it('fails a wildcard resource without a stated reason, saying how to acknowledge it', () => {
    expect(problemsOf('Unjustified')).toEqual([
      expect.objectContaining({
        code: 'WILDCARD_RESOURCE_WITHOUT_REASON',
        message: expect.stringMatching(/'AwsSolutions-IAM5\[Resource::\*\]'.*rule-wide 'AwsSolutions-IAM5'/),
      }),
    ]);
  });

  it('fails a wildcard pattern that matches no real action and an unknown service', () => {
    expect(problemsOf('Patterns').map((p) => p.code)).toEqual(['WILDCARD_WITHOUT_MATCH', 'UNKNOWN_SERVICE']);
  });

  it('checks the actions of resource policies too', () => {
    const bucketProblems = report.problems.filter((p) => p.statement.includes('AWS::S3::BucketPolicy'));
    expect(bucketProblems.map((p) => p.message)).toEqual([expect.stringContaining('"s3:GetObjekt" is not a real')]);
  });

  it('finds exactly the wildcard resources cdk-nag reports as unacknowledged (same finding ids)', () => {
    const nagResourceFindings = nagFindings(stack)
      .filter((f) => f.startsWith('AwsSolutions-IAM5[Resource::'))
      .map((f) => /^AwsSolutions-IAM5\[(Resource::[^\]]*)\] at ([^:]+):/.exec(f)?.slice(1, 3).join(' @ '));
    const ours = report.wildcardStatements.flatMap((s) =>
      s.acknowledgements.filter((a) => !a.reason && a.finding.startsWith('Resource::')).map((a) => `${a.finding}`),
    );
    expect(nagResourceFindings).toEqual([expect.stringMatching(/^Resource::\* @ Fixture\/Unjustified\//)]);
    expect(ours).toEqual(['Resource::*']);
  });

  it('describes each role: path, trust with conditions, boundary, policies', () => {
    const good = report.roles.find((r) => r.path === 'Fixture/Tracing/Good/Resource');
    expect(good).toMatchObject({
      stack: 'Fixture',
      customResourceProvider: false,
      permissionsBoundary: 'arn:aws:iam::123456789012:policy/Boundary',
      trust: [
        {
          effect: 'Allow',
          actions: ['sts:AssumeRole'],
          principals: ['Service: bedrock.amazonaws.com'],
          conditions: [
            'StringEquals aws:SourceAccount = 123456789012',
            'ArnLike aws:SourceArn = arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*',
          ],
        },
      ],
    });
    expect(good?.policies.flatMap((p) => p.statements.flatMap((s) => s.actions))).toEqual(
      expect.arrayContaining(['bedrock:InvokeModel', 's3:GetObject*', 'xray:PutTraceSegments']),
    );
    expect(report.summary).toMatchObject({ stacks: ['Fixture'], roles: 5, problems: report.problems.length });
    expect(report.summary.services).toEqual(['*', 'bedrock', 'bedrok', 'logs', 's3', 'xray']);
  });
});

/** A hand-written template: policies shared by roles, a customer managed policy, template-carried acknowledgements. */
const TEMPLATE: CfnTemplate = {
  Resources: {
    WorkerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        ManagedPolicyArns: [{ Ref: 'Shared' }, 'arn:aws:iam::aws:policy/ReadOnlyAccess'],
        Policies: [
          {
            PolicyName: 'inline',
            PolicyDocument: {
              Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'Machine' } }],
            },
          },
        ],
      },
      Metadata: { 'aws:cdk:path': 'T/Worker/Resource' },
    },
    OtherRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [
            { Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': ['WorkerRole', 'Arn'] } }, Action: 'sts:AssumeRole' },
          ],
        },
      },
    },
    Both: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'both',
        Roles: [{ Ref: 'WorkerRole' }, { Ref: 'OtherRole' }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ssm:GetParameter'],
              Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:us-east-1:1:parameter/x/*' },
            },
          ],
        },
      },
      Metadata: {
        cdk_nag: {
          rules_to_suppress: [
            {
              id: 'AwsSolutions-IAM5',
              reason: 'Parameters of this env.',
              applies_to: ['Resource::arn:<AWS::Partition>:ssm:us-east-1:1:parameter/x/*'],
            },
          ],
        },
      },
    },
    Invoke: {
      Type: 'AWS::Lambda::Permission',
      Properties: { Action: 'lambda:InvokeFunktion', FunctionName: 'f', Principal: 'apigateway.amazonaws.com' },
    },
    Shared: {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        PolicyDocument: {
          Statement: [{ Effect: 'Allow', Action: 'sns:Publik', Resource: 'arn:aws:sns:us-east-1:1:t' }],
        },
      },
    },
  },
};

describe('buildIamReport over a hand-written template', () => {
  const report: IamReport = buildIamReport([{ stackName: 'T', template: TEMPLATE }], catalog);

  it('attaches shared and managed policies to their roles and counts each statement once', () => {
    const worker = report.roles.find((r) => r.logicalId === 'WorkerRole');
    expect(worker?.path).toBe('T/Worker/Resource');
    expect(worker?.managedPolicyArns).toEqual([
      'Shared (customer managed, in this stack)',
      'arn:aws:iam::aws:policy/ReadOnlyAccess',
    ]);
    expect(worker?.policies.map((p) => `${p.kind} ${p.name}`)).toEqual([
      'inline inline',
      'AWS::IAM::Policy both',
      'AWS::IAM::ManagedPolicy Shared',
    ]);
    expect(report.roles.find((r) => r.logicalId === 'OtherRole')?.trust[0]?.principals).toEqual([
      'AWS: <WorkerRole.Arn>',
    ]);
    expect(report.summary).toMatchObject({ roles: 2, policies: 3, statements: 3, actions: 3 });
    expect(report.unattachedPolicies).toEqual([]);
  });

  it('reads acknowledgements written into the template (cdk_nag metadata)', () => {
    expect(report.wildcardStatements).toHaveLength(1);
    expect(report.wildcardStatements[0]?.acknowledgements).toEqual([
      {
        finding: 'Resource::arn:<AWS::Partition>:ssm:us-east-1:1:parameter/x/*',
        ruleId: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:us-east-1:1:parameter/x/*]',
        reason: 'Parameters of this env.',
      },
    ]);
  });

  it('flags the misspelt actions of the managed policy (once) and of a Lambda permission', () => {
    expect(report.problems).toEqual([
      expect.objectContaining({
        code: 'UNKNOWN_ACTION',
        statement: 'AWS::Lambda::Permission T/Invoke [Invoke]',
        message: expect.stringContaining(
          '"lambda:InvokeFunktion" is not a real IAM action; did you mean lambda:InvokeFunction',
        ),
      }),
      expect.objectContaining({ code: 'UNKNOWN_ACTION', message: expect.stringContaining('"sns:Publik"') }),
    ]);
  });

  it('renders Markdown with the summary first, problems, wildcards with reasons, and every role', () => {
    const markdown = renderIamReportMarkdown(report);
    expect(markdown).toMatch(/## Summary[\s\S]*## Problems/);
    expect(markdown).toMatch(/\| 2 \| 3 \| 3 \| 3 \| 1 \| 3 \| 2 \|/);
    expect(markdown).toContain('**UNKNOWN_ACTION**');
    expect(markdown).toContain('Parameters of this env.');
    expect(markdown).toContain('### T/Worker/Resource');
    expect(markdown).toContain('### OtherRole');
    expect(markdown).toContain('Assumable by `Service: states.amazonaws.com`');
    expect(JSON.parse(renderIamReportJson(report))).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('works with any catalog (the check is only as good as the action list)', () => {
    const tiny = catalogOf(['states:StartExecution', 'ssm:GetParameter', 'sns:Publish', 'sts:AssumeRole']);
    expect(buildIamReport([{ stackName: 'T', template: TEMPLATE }], tiny).problems.map((p) => p.code)).toEqual([
      'UNKNOWN_SERVICE',
      'UNKNOWN_ACTION',
    ]);
  });
});
