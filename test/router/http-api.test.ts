import { Match, type Template } from 'aws-cdk-lib/assertions';
import { BATCH_PATH, ROUTE_PATH } from '../../lambda/router/contract';
import { ConfigError, parseConfig } from '../../lib/config';
import { RUNTIME } from '../../lib/constructs/function';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/router-access-log';
import { ALARM_THRESHOLDS } from '../../lib/constructs/router-alarms';
import { nagFindings, synth } from '../helpers/app';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }>;
const resources = (template: Template) => template.toJSON().Resources as Resources;
const ofType = (template: Template, type: string) =>
  Object.entries(resources(template)).filter(([, r]) => r.Type === type);
const idOf = (template: Template, type: string, pattern: RegExp) =>
  ofType(template, type).find(([id]) => pattern.test(id))?.[0];

describe('apiType: which API an environment gets', () => {
  it('is http by default (apiAuth=iam) and rest with apiAuth=apiKey, resolved on the config', () => {
    expect(parseConfig({}).apiType).toBe('http');
    expect(parseConfig({ apiAuth: 'apiKey' }).apiType).toBe('rest');
    expect(parseConfig({ apiType: 'rest' }).apiType).toBe('rest');
    expect(parseConfig({ apiType: 'rest', apiAuth: 'apiKey' }).apiType).toBe('rest');
    expect(parseConfig({ apiType: 'http', apiAuth: 'iam' }).apiType).toBe('http');
  });

  it('refuses apiType=http with apiAuth=apiKey, naming both keys and the fix', () => {
    let error: unknown;
    try {
      parseConfig({ apiType: 'http', apiAuth: 'apiKey' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^apiType\b/);
    expect(problems[0]).toContain('apiAuth=apiKey');
    expect(problems[0]).toContain('REST');
    expect(problems[0]).toContain('-c apiType=rest');
    expect(problems[0]).toContain('-c apiAuth=iam');
  });

  it('refuses it at synth too (the app reads the same config)', () => {
    expect(() => synth({ apiType: 'http', apiAuth: 'apiKey' })).toThrow(/apiType.*apiAuth=apiKey/s);
  });

  it('refuses an unknown apiType', () => {
    expect(() => parseConfig({ apiType: 'websocket' })).toThrow(ConfigError);
  });
});

describe('router HTTP API (default)', () => {
  const api = synth({ apiThrottleRateLimit: 50, apiThrottleBurstLimit: 80 }).templates.api;

  it('is an HTTP API, with no REST API, models, validator or execution logs', () => {
    api.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    api.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', Name: 'intent-router-dev' });
    for (const type of [
      'AWS::ApiGateway::RestApi',
      'AWS::ApiGateway::Stage',
      'AWS::ApiGateway::Method',
      'AWS::ApiGateway::Model',
      'AWS::ApiGateway::RequestValidator',
      'AWS::ApiGateway::ApiKey',
      'AWS::ApiGateway::UsagePlan',
      'AWS::ApiGateway::Account',
    ]) {
      api.resourceCountIs(type, 0);
    }
    expect(idOf(api, 'AWS::Logs::LogGroup', /ExecutionLogs/)).toBeUndefined();
  });

  it('serves exactly POST /v1/route and POST /v1/route/batch, each authorised with IAM (SigV4)', () => {
    const routes = ofType(api, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r['RouteKey']).sort()).toEqual([`POST ${ROUTE_PATH}`, `POST ${BATCH_PATH}`].sort());
    for (const route of routes) expect(route['AuthorizationType']).toBe('AWS_IAM');
  });

  it('proxies both routes to the router Lambda in payload format 1.0 (the REST proxy event)', () => {
    const integrations = ofType(api, 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    const [integrationId, integration] = integrations[0] ?? [];
    const routerId = idOf(api, 'AWS::Lambda::Function', /^RouterFunction/);
    expect(integration?.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '1.0',
      IntegrationUri: { 'Fn::GetAtt': [routerId, 'Arn'] },
    });
    for (const [, route] of ofType(api, 'AWS::ApiGatewayV2::Route')) {
      expect(route.Properties['Target']).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
    }
  });

  it('lets API Gateway invoke the router for each route only', () => {
    const permissions = ofType(api, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toHaveLength(2);
    const apiId = ofType(api, 'AWS::ApiGatewayV2::Api')[0]?.[0];
    const sources = permissions.map((p) => {
      expect(p).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      const parts = (p['SourceArn'] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      expect(parts).toContainEqual({ Ref: apiId });
      return parts[parts.length - 1];
    });
    expect(sources.sort()).toEqual([`/*/*${ROUTE_PATH}`, `/*/*${BATCH_PATH}`].sort());
  });

  it('has one auto-deployed $default stage with the stage throttle and the JSON access log', () => {
    const accessLogs = idOf(api, 'AWS::Logs::LogGroup', /^RouterAccessLogs/);
    expect(accessLogs).toBeDefined();
    api.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [accessLogs, 'Arn'] }, Format: Match.anyValue() },
    });
    const stage = ofType(api, 'AWS::ApiGatewayV2::Stage')[0]?.[1].Properties as {
      AccessLogSettings: { Format: string };
    };
    expect(JSON.parse(stage.AccessLogSettings.Format)).toEqual(ACCESS_LOG_FIELDS.http);
  });

  it('keeps the access log group under the logical id the REST API used (a stateful resource)', () => {
    const rest = synth({ apiType: 'rest' }).templates.api;
    const logicalId = idOf(api, 'AWS::Logs::LogGroup', /^RouterAccessLogs/);
    expect(logicalId).toBe(idOf(rest, 'AWS::Logs::LogGroup', /^RouterAccessLogs/));
    expect(resources(api)[logicalId ?? '']).toEqual(resources(rest)[logicalId ?? '']);
  });

  it('outputs the $default stage URL (ending in /) under the same output name', () => {
    const apiId = ofType(api, 'AWS::ApiGatewayV2::Api')[0]?.[0];
    api.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': ['', ['https://', { Ref: apiId }, '.execute-api.us-east-1.', { Ref: 'AWS::URLSuffix' }, '/']],
      },
    });
    expect(Object.keys(api.toJSON().Outputs as object)).not.toContain('ApiKeyId');
  });

  it('sets no CORS by default, and the configured origins (API Gateway answers the preflight) when given', () => {
    expect(ofType(api, 'AWS::ApiGatewayV2::Api')[0]?.[1].Properties['CorsConfiguration']).toBeUndefined();
    const origins = ['https://a.example.com', 'https://b.example.com'];
    const cors = synth({ corsAllowOrigins: origins.join(',') }).templates.api;
    cors.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: origins,
        AllowMethods: ['POST', 'OPTIONS'],
        AllowHeaders: Match.arrayWith(['Content-Type', 'X-Amz-Date', 'Authorization', 'X-Amz-Security-Token']),
        MaxAge: 3600,
      },
    });
    // No OPTIONS route: nothing is served without SigV4.
    for (const [, route] of ofType(cors, 'AWS::ApiGatewayV2::Route')) {
      expect(route.Properties['AuthorizationType']).toBe('AWS_IAM');
    }
  });

  it('alarms on the 5xx share of requests (5xx over Count), under the REST alarm logical id', () => {
    const [alarmId, alarm] =
      ofType(api, 'AWS::CloudWatch::Alarm').find(([id]) => id.startsWith('MonitoringServerErrorRate')) ?? [];
    const rest = synth({ apiType: 'rest' }).templates.api;
    expect(alarmId).toBe(
      ofType(rest, 'AWS::CloudWatch::Alarm').find(([id]) => id.startsWith('MonitoringServerErrorRate'))?.[0],
    );
    const apiId = ofType(api, 'AWS::ApiGatewayV2::Api')[0]?.[0];
    expect(alarm?.Properties).toMatchObject({
      Threshold: ALARM_THRESHOLDS.serverErrorRate,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const queries = alarm?.Properties['Metrics'] as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: unknown[] }; Stat: string };
    }[];
    expect(queries.find((q) => q.Expression)?.Expression).toBe('IF(requests > 0, errors / requests, 0)');
    const byId = Object.fromEntries(queries.map((q) => [q.Id, q.MetricStat]));
    expect(byId['errors']).toMatchObject({
      Stat: 'Sum',
      Metric: {
        MetricName: '5xx',
        Namespace: 'AWS/ApiGateway',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId } }],
      },
    });
    expect(byId['requests']).toMatchObject({ Stat: 'Sum', Metric: { MetricName: 'Count' } });
  });

  it("sets the account's API Gateway logging role, when configured, under the REST API's logical ids", () => {
    const http = synth({ apiGatewayCloudWatchRole: 'true' }).templates.api;
    const rest = synth({ apiType: 'rest', apiGatewayCloudWatchRole: 'true' }).templates.api;
    const ids = (t: Template) => ofType(t, 'AWS::ApiGateway::Account').map(([id]) => id);
    expect(ids(http)).toHaveLength(1);
    expect(ids(http)).toEqual(ids(rest));
    const account = resources(http)[ids(http)[0] ?? ''];
    expect(account).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const roleId = (account?.Properties['CloudWatchRoleArn'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    expect(resources(rest)[roleId ?? '']?.Type).toBe('AWS::IAM::Role');
    expect(resources(http)[roleId ?? '']).toMatchObject({ Type: 'AWS::IAM::Role', DeletionPolicy: 'Retain' });
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(synth({ apiThrottleRateLimit: 50, apiThrottleBurstLimit: 80 }).stacks.api)).toEqual([]);
  });
});

const routerOf = (template: Template) =>
  ofType(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith('RouterFunction'))?.[1].Properties;

describe('router Lambda: tracing and memory', () => {
  it('uses X-Ray PassThrough by default (traced when the caller is sampled), Active when routerTracing=active', () => {
    expect(routerOf(synth().templates.api)?.['TracingConfig']).toEqual({ Mode: 'PassThrough' });
    expect(routerOf(synth({ apiAuth: 'apiKey' }).templates.api)?.['TracingConfig']).toEqual({ Mode: 'PassThrough' });
    expect(routerOf(synth({ routerTracing: 'active' }).templates.api)?.['TracingConfig']).toEqual({ Mode: 'Active' });
  });

  it('keeps Active tracing on every pipeline function', () => {
    const house = ofType(synth().templates.pipeline, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Properties['Runtime'] === RUNTIME.name,
    );
    expect(house.length).toBeGreaterThan(0);
    for (const [id, fn] of house) expect([id, fn.Properties['TracingConfig']]).toEqual([id, { Mode: 'Active' }]);
  });

  it('may still write its traces (PassThrough sends the sampled ones)', () => {
    const policies = ofType(synth().templates.api, 'AWS::IAM::Policy').map(([, p]) => JSON.stringify(p.Properties));
    expect(policies.some((p) => p.includes('xray:PutTraceSegments'))).toBe(true);
  });

  it('defaults to 128 MB (it mostly waits on Bedrock; docs/router.md "Sizing the router")', () => {
    expect(parseConfig({}).routerMemoryMb).toBe(128);
    expect(routerOf(synth().templates.api)?.['MemorySize']).toBe(128);
  });
});

describe('router logs: what each request writes (the serving cost prices it)', () => {
  const env = (template: Template) =>
    (routerOf(template)?.['Environment'] as { Variables: Record<string, string> } | undefined)?.Variables ?? {};

  it('drops Lambda’s start and report events by default (system log level WARN), keeps them with routerPlatformLogs', () => {
    const logging = (properties: Record<string, unknown> | undefined) => properties?.['LoggingConfig'];
    expect(logging(routerOf(synth().templates.api))).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
    const kept = logging(routerOf(synth({ routerPlatformLogs: 'true' }).templates.api));
    expect(kept).toMatchObject({ LogFormat: 'JSON' });
    expect(kept).not.toHaveProperty('SystemLogLevel');
    // Every pipeline function keeps them: a few invocations a run, and their report lines are how a run is debugged.
    const pipeline = ofType(synth().templates.pipeline, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Properties['Runtime'] === RUNTIME.name,
    );
    expect(pipeline.length).toBeGreaterThan(0);
    for (const [id, fn] of pipeline) expect([id, logging(fn.Properties)]).not.toHaveProperty('1.SystemLogLevel');
  });

  it('logs the routed line for routerLogSampleRate of requests (1 % by default)', () => {
    expect(env(synth().templates.api)['ROUTED_LOG_SAMPLE_RATE']).toBe('0.01');
    expect(env(synth({ routerLogSampleRate: '1' }).templates.api)['ROUTED_LOG_SAMPLE_RATE']).toBe('1');
  });
});
