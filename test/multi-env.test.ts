import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createStacks } from '../lib/app';
import { parseConfig } from '../lib/config';
import { CDK_JSON_CONTEXT, nagFindings } from './helpers/app';

/**
 * Two environments in one account and Region, synthesized side by side as `cdk deploy -c envName=…` would build them:
 * the account's API Gateway CloudWatch Logs role (AWS::ApiGateway::Account, one setting per account and Region) has
 * exactly one owner, and neither environment's destroy can take it from the other.
 */
function twoEnvironments(dev: Record<string, unknown>, prod: Record<string, unknown>) {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const place = { account: '123456789012', region: 'us-east-1' };
  const stacks = {
    dev: createStacks(app, parseConfig({ ...place, envName: 'dev', ...dev })),
    prod: createStacks(app, parseConfig({ ...place, envName: 'prod', ...prod })),
  };
  const templates = Object.fromEntries(
    app.node.children.filter(Stack.isStack).map((s) => [s.stackName, Template.fromStack(s)]),
  );
  return { stacks, templates };
}

const accountSettings = (templates: Record<string, Template>) =>
  Object.entries(templates).flatMap(([stack, t]) =>
    Object.entries(t.findResources('AWS::ApiGateway::Account')).map(([id, r]) => ({ stack, id, resource: r })),
  );
const apiGatewayRoles = (template: Template) =>
  template.findResources('AWS::IAM::Role', {
    Properties: {
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })]),
      },
    },
  });

describe('several environments in one account', () => {
  // dev owns the setting and does not keep its data: the setting must outlive it all the same.
  const { stacks, templates } = twoEnvironments({ apiGatewayCloudWatchRole: 'true', retainData: 'false' }, {});

  it('has exactly one owner of the account setting: the environment configured for it', () => {
    const owners = accountSettings(templates);
    expect(owners.map((o) => o.stack)).toEqual(['IntentRouter-dev-Api']);
  });

  it('keeps the setting and its role when the owner is destroyed, whatever retainData says', () => {
    const [owner] = accountSettings(templates);
    expect(owner?.resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const roleId = owner?.resource.Properties.CloudWatchRoleArn['Fn::GetAtt'][0] as string;
    const roles = apiGatewayRoles(templates['IntentRouter-dev-Api']!);
    expect(Object.keys(roles)).toEqual([roleId]);
    expect(roles[roleId]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it("leaves the other environment's stacks nothing of the setting to delete", () => {
    for (const name of ['IntentRouter-prod-Api', 'IntentRouter-prod-Pipeline']) {
      const template = templates[name]!;
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      expect(apiGatewayRoles(template)).toEqual({});
    }
  });

  it('logs access in both environments (HTTP APIs: access logs need no account setting)', () => {
    for (const env of ['dev', 'prod']) {
      templates[`IntentRouter-${env}-Api`]!.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      });
    }
  });

  it('logs access and errors in both environments with REST APIs, the owner only once the setting is made', () => {
    // dev owns the setting with a REST API (IAM), prod has a REST API through its API keys.
    const rest = twoEnvironments(
      { apiType: 'rest', apiGatewayCloudWatchRole: 'true', retainData: 'false' },
      { apiAuth: 'apiKey' },
    );
    for (const env of ['dev', 'prod']) {
      rest.templates[`IntentRouter-${env}-Api`]!.hasResourceProperties('AWS::ApiGateway::Stage', {
        AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
        MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR' })],
      });
    }
    const [owner] = accountSettings(rest.templates);
    expect(owner?.stack).toBe('IntentRouter-dev-Api');
    // The same logical id as with the HTTP API: switching apiType keeps the retained setting and role.
    expect(owner?.id).toBe(accountSettings(templates)[0]?.id);
    rest.templates['IntentRouter-dev-Api']!.hasResource('AWS::ApiGateway::Stage', {
      DependsOn: Match.arrayWith([owner?.id]),
    });
    expect([...nagFindings(rest.stacks.dev.api), ...nagFindings(rest.stacks.prod.api)]).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding in either Api stack', () => {
    expect([...nagFindings(stacks.dev.api), ...nagFindings(stacks.prod.api)]).toEqual([]);
  });

  it('sets nothing account-wide by default', () => {
    const defaults = twoEnvironments({}, {});
    expect(accountSettings(defaults.templates)).toEqual([]);
    for (const template of Object.values(defaults.templates)) expect(apiGatewayRoles(template)).toEqual({});
  });
});
