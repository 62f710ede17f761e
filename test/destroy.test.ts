import { Match, type Template } from 'aws-cdk-lib/assertions';
import { STAGE_NAME } from '../lib/constructs/router-api';
import { synth } from './helpers/app';

/**
 * What `cdk destroy` leaves behind, read from the templates: a resource survives its stack's deletion when its
 * DeletionPolicy is anything but Delete (CloudFormation's default when there is none). The README's "Clean up"
 * section lists the same resources.
 */

interface Resource {
  readonly Type: string;
  readonly DeletionPolicy?: string;
  readonly Properties?: { readonly LoggingConfig?: { readonly LogGroup?: { readonly Ref?: string } } };
}
const resources = (template: Template) => template.toJSON().Resources as Record<string, Resource>;
const survivors = (template: Template) =>
  Object.entries(resources(template))
    .filter(([, r]) => (r.DeletionPolicy ?? 'Delete') !== 'Delete')
    .map(([id, r]) => `${r.Type} ${id}`)
    .sort();
const logGroupIds = (template: Template) =>
  Object.entries(resources(template))
    .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')
    .map(([id]) => id);

describe('cdk destroy with retainData=false', () => {
  const { templates } = synth({ retainData: 'false' });

  it.each(['pipeline', 'api'] as const)('deletes every log group of the %s stack', (which) => {
    const groups = templates[which].findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups).length).toBeGreaterThan(0);
    for (const group of Object.values(groups)) {
      expect(group).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
  });

  it('leaves only the dataset key (the distilled models are encrypted with it)', () => {
    expect(survivors(templates.pipeline)).toEqual([expect.stringMatching(/^AWS::KMS::Key DatasetKey[0-9A-F]{8}$/)]);
    expect(survivors(templates.api)).toEqual([]);
  });
});

describe('cdk destroy with retainData=true (the default)', () => {
  const { templates } = synth();

  it('keeps the dataset bucket, its access-log bucket, the dataset key and every log group, nothing else', () => {
    const pipeline = survivors(templates.pipeline);
    expect(pipeline.filter((s) => !s.startsWith('AWS::Logs::LogGroup '))).toEqual([
      expect.stringMatching(/^AWS::KMS::Key DatasetKey[0-9A-F]{8}$/),
      expect.stringMatching(/^AWS::S3::Bucket DatasetAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^AWS::S3::Bucket DatasetBucket[0-9A-F]{8}$/),
    ]);
    for (const template of [templates.pipeline, templates.api]) {
      const kept = survivors(template).filter((s) => s.startsWith('AWS::Logs::LogGroup '));
      expect(kept).toEqual(
        logGroupIds(template)
          .map((id) => `AWS::Logs::LogGroup ${id}`)
          .sort(),
      );
    }
    // The api stack keeps its log groups and nothing else: router and access logs (HTTP API, the default), and the
    // execution logs with a REST API.
    expect(survivors(templates.api)).toEqual([
      expect.stringMatching(/^AWS::Logs::LogGroup RouterAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^AWS::Logs::LogGroup RouterLogs[0-9A-F]{8}$/),
    ]);
    expect(survivors(synth({ apiType: 'rest' }).templates.api)).toEqual([
      expect.stringMatching(/^AWS::Logs::LogGroup RouterAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^AWS::Logs::LogGroup RouterExecutionLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^AWS::Logs::LogGroup RouterLogs[0-9A-F]{8}$/),
    ]);
  });

  it('keeps log groups that still expire after logRetentionDays', () => {
    const { templates: t } = synth({ logRetentionDays: '90' });
    for (const template of [t.pipeline, t.api]) {
      for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
        expect(group.Properties.RetentionInDays).toBe(90);
      }
    }
  });
});

describe('log groups CloudFormation does not create', () => {
  it.each([
    ['retainData=true', {}],
    ['retainData=false', { retainData: 'false' }],
  ])('none with %s: every Lambda function logs to a log group of its own stack', (_, context) => {
    const { templates } = synth(context);
    for (const template of [templates.pipeline, templates.api]) {
      const all = resources(template);
      const functions = Object.entries(all).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) {
        const ref = fn.Properties?.LoggingConfig?.LogGroup?.Ref;
        expect({ id, logGroup: ref && all[ref]?.Type }).toEqual({ id, logGroup: 'AWS::Logs::LogGroup' });
      }
    }
  });

  it("owns the REST API's execution log group (API Gateway would create it, never expiring) before the stage", () => {
    const api = synth({ apiType: 'rest' }).templates.api;
    const [restApiId] = Object.keys(api.findResources('AWS::ApiGateway::RestApi'));
    const groups = api.findResources('AWS::Logs::LogGroup', {
      Properties: {
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: restApiId }, `/${STAGE_NAME}`]] },
      },
    });
    const [groupId] = Object.keys(groups);
    expect(groupId).toBeDefined();
    api.hasResource('AWS::ApiGateway::Stage', { DependsOn: Match.arrayWith([groupId]) });
    api.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR' })],
    });
  });
});
