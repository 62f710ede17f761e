import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ALARM_THRESHOLDS } from '../../lib/constructs/router-alarms';
import { publishedJsonSchemas } from '../../lib/constructs/router-rest-api';
import { CANARY_CHECKS, canaryAlarmName } from '../../lib/naming';
import { nagFindings, synth } from '../helpers/app';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resources = (template: Template) => template.toJSON().Resources as Resources;
const ofType = (template: Template, type: string) =>
  Object.entries(resources(template)).filter(([, r]) => r.Type === type);

const FALLBACK = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const API_KEY = { apiAuth: 'apiKey' };
/**
 * The REST API with IAM auth (apiType=rest): what the default was before the HTTP API. Every REST assertion below runs
 * under it or under API_KEY (which resolves to REST); the HTTP API's are in http-api.test.ts.
 */
const REST = { apiType: 'rest' };

/** The POST methods by resource path part ("route", "batch"). */
function postMethods(template: Template) {
  const res = resources(template);
  return Object.fromEntries(
    ofType(template, 'AWS::ApiGateway::Method')
      .filter(([, m]) => m.Properties['HttpMethod'] === 'POST')
      .map(([, m]) => {
        const resourceId = (m.Properties['ResourceId'] as { Ref: string }).Ref;
        return [res[resourceId]?.Properties['PathPart'] as string, m.Properties];
      }),
  );
}

describe('router API (REST): request validation and models', () => {
  const { templates } = synth(REST);
  const api = templates.api;

  it('validates the body of both methods against their models', () => {
    const methods = postMethods(api);
    expect(Object.keys(methods).sort()).toEqual(['batch', 'route']);
    const validators = ofType(api, 'AWS::ApiGateway::RequestValidator');
    expect(validators).toHaveLength(1);
    expect(validators[0]?.[1].Properties).toMatchObject({ ValidateRequestBody: true });
    const res = resources(api);
    for (const [part, model] of [
      ['route', 'RouteRequest'],
      ['batch', 'BatchRouteRequest'],
    ] as const) {
      const method = methods[part] as Record<string, unknown>;
      expect(method['RequestValidatorId']).toEqual({ Ref: validators[0]?.[0] });
      const modelRef = (method['RequestModels'] as Record<string, { Ref: string }>)['application/json']?.Ref ?? '';
      expect(res[modelRef]?.Properties).toMatchObject({ Name: model, ContentType: 'application/json' });
      expect(res[modelRef]?.Properties['Schema']).toEqual(publishedJsonSchemas()[model]);
    }
  });

  it('deploys the request models with the contract limits (1-512 characters, 1-25 queries, no other fields)', () => {
    const schemas = publishedJsonSchemas();
    expect(schemas.RouteRequest).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      required: ['query'],
      additionalProperties: false,
      properties: { query: { type: 'string', minLength: 1, maxLength: 512 } },
    });
    expect(schemas.BatchRouteRequest).toMatchObject({
      required: ['queries'],
      additionalProperties: false,
      properties: { queries: { type: 'array', minItems: 1, maxItems: 25, items: { type: 'string', maxLength: 512 } } },
    });
  });

  it('declares the response models on the methods (200 and the error shape)', () => {
    const res = resources(api);
    for (const [part, model] of [
      ['route', 'RouteResponse'],
      ['batch', 'BatchRouteResponse'],
    ] as const) {
      const responses = postMethods(api)[part]?.['MethodResponses'] as {
        StatusCode: string;
        ResponseModels: Record<string, { Ref: string }>;
      }[];
      const modelName = (code: string) =>
        res[responses.find((r) => r.StatusCode === code)?.ResponseModels['application/json']?.Ref ?? '']?.Properties[
          'Name'
        ];
      expect(modelName('200')).toBe(model);
      expect(modelName('400')).toBe('Error');
    }
  });

  it('proxies to the router Lambda', () => {
    for (const method of Object.values(postMethods(api))) {
      expect(method['Integration']).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    }
  });
});

describe('router API (REST): authorisation', () => {
  it('requires SigV4 (IAM) on every method with apiAuth=iam, with no API key or usage plan', () => {
    const api = synth(REST).templates.api;
    for (const [, method] of ofType(api, 'AWS::ApiGateway::Method')) {
      expect(method.Properties['AuthorizationType']).toBe('AWS_IAM');
    }
    api.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    api.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
  });

  it('requires an API key of a usage plan with the stage throttle when apiAuth is apiKey', () => {
    const api = synth(API_KEY).templates.api;
    for (const [, method] of ofType(api, 'AWS::ApiGateway::Method')) {
      expect(method.Properties).toMatchObject({ AuthorizationType: 'NONE', ApiKeyRequired: true });
    }
    api.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    api.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 100, BurstLimit: 200 },
      ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
    });
    api.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    api.hasOutput('ApiKeyId', Match.anyValue());
  });

  it('adds CORS preflight (unauthenticated OPTIONS) only when origins are configured', () => {
    const off = synth(REST).templates.api;
    expect(ofType(off, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties['HttpMethod'] === 'OPTIONS')).toEqual(
      [],
    );
    const on = synth({ ...REST, corsAllowOrigins: 'https://search.example.com' }).templates.api;
    const options = ofType(on, 'AWS::ApiGateway::Method').filter(([, m]) => m.Properties['HttpMethod'] === 'OPTIONS');
    expect(options.length).toBeGreaterThan(0);
    for (const [, method] of options) expect(method.Properties['AuthorizationType']).toBe('NONE');
    on.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CORS_ALLOW_ORIGINS: 'https://search.example.com' }) },
    });
  });
});

describe('router API (REST): stage', () => {
  it('throttles, traces (routerTracing=active), logs access as JSON and never logs bodies', () => {
    const api = synth({ ...REST, routerTracing: 'active', apiThrottleRateLimit: 50, apiThrottleBurstLimit: 80 })
      .templates.api;
    const [logGroupId] = ofType(api, 'AWS::Logs::LogGroup').find(([id]) => id.includes('AccessLogs')) ?? [];
    expect(logGroupId).toBeDefined();
    api.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'api',
      TracingEnabled: true,
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 80,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        }),
      ],
      AccessLogSetting: {
        DestinationArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: logGroupId }])]) }),
        Format: Match.stringLikeRegexp('"status":"\\$context.status"'),
      },
    });
    const stage = ofType(api, 'AWS::ApiGateway::Stage')[0]?.[1].Properties as { AccessLogSetting: { Format: string } };
    expect(Object.keys(JSON.parse(stage.AccessLogSetting.Format) as object)).toEqual(
      expect.arrayContaining(['requestId', 'status', 'responseLatency', 'integrationLatency', 'validationError']),
    );
  });

  it('traces at the stage only when routerTracing is active (X-Ray samples and bills on its own there)', () => {
    for (const context of [REST, API_KEY]) {
      synth(context).templates.api.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    }
  });

  it('answers gateway errors in the API error shape', () => {
    const api = synth(REST).templates.api;
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX', 'BAD_REQUEST_BODY']) {
      const [, response] = ofType(api, 'AWS::ApiGateway::GatewayResponse').find(
        ([, r]) => r.Properties['ResponseType'] === type,
      ) ?? [undefined, undefined];
      const template = (response?.Properties['ResponseTemplates'] as Record<string, string>)['application/json'];
      expect(template).toMatch(/^\{"error":\{"code":"[^"]+","message":.+\}\}$/);
    }
    // What API Gateway renders for the default templates is valid JSON of the error shape.
    const rendered = (
      (
        ofType(api, 'AWS::ApiGateway::GatewayResponse')[0]?.[1].Properties['ResponseTemplates'] as Record<
          string,
          string
        >
      )['application/json'] ?? ''
    )
      .replace('$context.error.responseType', 'MISSING_AUTHENTICATION_TOKEN')
      .replace('$context.error.messageString', '"Missing Authentication Token"');
    expect(JSON.parse(rendered)).toEqual({
      error: { code: 'MISSING_AUTHENTICATION_TOKEN', message: 'Missing Authentication Token' },
    });
  });

  it("outputs the API URL (the stage's: <restApiId>.execute-api.<region>.amazonaws.com/api/)", () => {
    const api = synth(REST).templates.api;
    const [restApiId] = ofType(api, 'AWS::ApiGateway::RestApi')[0] ?? [];
    const [stageId] = ofType(api, 'AWS::ApiGateway::Stage')[0] ?? [];
    api.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: restApiId }, { Ref: stageId }, '/'])] },
    });
    api.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'api' });
    api.hasOutput('ActiveModelParameterName', Match.anyValue());
  });
});

describe('router Lambda: configuration and IAM scope', () => {
  it('is configured from the app config through its environment', () => {
    const api = synth({ latencyBudgetMs: 1200, routerMemoryMb: 1024, fallbackModelId: FALLBACK }).templates.api;
    api.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 7,
      Environment: {
        Variables: Match.objectLike({
          ACTIVE_MODEL_PARAMETER_NAME: { Ref: Match.stringLikeRegexp('ActiveModel') },
          LATENCY_BUDGET_MS: '1200',
          FALLBACK_MODEL_ID: FALLBACK,
          DEFAULT_WEIGHTS: '{"visual":0.4,"audio":0.2,"transcription":0.2,"metadata":0.2}',
          CACHE_SIZE: '10000',
          PARAMETER_CACHE_TTL_SECONDS: '60',
          LOG_QUERIES: 'false',
          MAX_TOKENS: '80',
          POWERTOOLS_SERVICE_NAME: 'intent-router',
        }),
      },
    });
  });

  const statements = (template: Template) =>
    ofType(template, 'AWS::IAM::Policy').flatMap(
      ([, p]) => (p.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement,
    );

  it('may invoke only custom-model deployments of its account and region, and read only its parameter', () => {
    const all = statements(synth().templates.api);
    expect(all.map((s) => s['Action']).flat()).not.toEqual(expect.arrayContaining([expect.stringMatching(/\*$/)]));
    const bedrock = all.filter((s) => JSON.stringify(s['Action']).includes('bedrock:'));
    expect(bedrock).toEqual([
      {
        Sid: 'InvokePromotedStudent',
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: {
          'Fn::Join': ['', ['arn:aws:bedrock:us-east-1:', { Ref: 'AWS::AccountId' }, ':custom-model-deployment/*']],
        },
      },
    ]);
    const ssmStatements = all.filter((s) => JSON.stringify(s['Action']).includes('ssm:'));
    expect(ssmStatements).toEqual([
      expect.objectContaining({
        Action: 'ssm:GetParameter',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:aws:ssm:us-east-1:',
              { Ref: 'AWS::AccountId' },
              ':parameter',
              { Ref: expect.stringMatching(/^ActiveModel/) },
            ],
          ],
        },
      }),
    ]);
  });

  it("may use the project's KMS keys only through Bedrock (the distilled model) and SQS (the shadow queue)", () => {
    const { templates } = synth({ envName: 'qa' });
    const all = statements(templates.api);
    const kms = all.filter((s) => JSON.stringify(s['Action']).includes('kms:'));
    expect(kms).toEqual([
      {
        Sid: 'DecryptDistilledModel',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::Join': ['', ['arn:aws:kms:us-east-1:', { Ref: 'AWS::AccountId' }, ':key/*']] },
        Condition: {
          StringEquals: {
            'kms:ViaService': 'bedrock.us-east-1.amazonaws.com',
            'aws:ResourceTag/Project': 'distilled-intent-router',
            'aws:ResourceTag/Environment': 'qa',
          },
        },
      },
      {
        Sid: 'EncryptShadowSamples',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::Join': ['', ['arn:aws:kms:us-east-1:', { Ref: 'AWS::AccountId' }, ':key/*']] },
        Condition: {
          StringEquals: {
            'kms:ViaService': 'sqs.us-east-1.amazonaws.com',
            'aws:ResourceTag/Project': 'distilled-intent-router',
            'aws:ResourceTag/Environment': 'qa',
          },
        },
      },
    ]);
    // The conditions name the tags the pipeline's dataset key (the distilled model's customModelKmsKeyId) carries.
    const keys = ofType(templates.pipeline, 'AWS::KMS::Key').map(([, k]) => k.Properties['Tags']);
    expect(keys.length).toBeGreaterThan(0);
    for (const tags of keys) {
      expect(tags).toEqual(
        expect.arrayContaining([
          { Key: 'Project', Value: 'distilled-intent-router' },
          { Key: 'Environment', Value: 'qa' },
        ]),
      );
    }
  });

  it("adds the fallback model's inference profile and its foundation model in every destination region", () => {
    const all = statements(synth({ fallbackModelId: FALLBACK }).templates.api);
    const fallback = all.find((s) => s['Sid'] === 'InvokeFallbackModel');
    expect(fallback).toMatchObject({ Action: 'bedrock:InvokeModel' });
    expect(fallback?.['Resource']).toEqual(
      expect.arrayContaining([
        'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
        'arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
        'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
        {
          'Fn::Join': ['', ['arn:aws:bedrock:us-east-1:', { Ref: 'AWS::AccountId' }, `:inference-profile/${FALLBACK}`]],
        },
      ]),
    );
    expect(fallback?.['Resource']).toHaveLength(4);
  });

  it('grants a plain foundation-model fallback in its own region only', () => {
    const all = statements(synth({ fallbackModelId: 'amazon.nova-lite-v1:0' }).templates.api);
    expect(all.find((s) => s['Sid'] === 'InvokeFallbackModel')?.['Resource']).toBe(
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
    );
  });
});

describe('router monitoring', () => {
  it('alarms on 5xx rate, fallback rate, p99 latency, model access errors and persistent parameter read errors, to the stack topic', () => {
    const api = synth({ ...REST, notificationEmail: 'ops@example.com' }).templates.api;
    const [topicId] = ofType(api, 'AWS::SNS::Topic')[0] ?? [];
    api.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const alarms = ofType(api, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => !String(a['AlarmName'] ?? '').includes('-Canary-')); // the canary's: no action, see below
    expect(ALARM_THRESHOLDS.activeModelReadErrorPeriods).toBeGreaterThan(1); // "persists": several periods in a row
    for (const alarm of alarms) expect(alarm['AlarmActions']).toEqual([{ Ref: topicId }]);
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          MetricName: '5XXError',
          Namespace: 'AWS/ApiGateway',
          Threshold: ALARM_THRESHOLDS.serverErrorRate,
        }),
        expect.objectContaining({ MetricName: 'Latency', ExtendedStatistic: 'p99', Threshold: 1500 }),
        expect.objectContaining({ MetricName: 'ModelAccessErrors', Namespace: 'DistilledIntentRouter', Threshold: 1 }),
        // A transient SSM fault is served stale and retried: only one that persists over consecutive periods alarms.
        expect.objectContaining({
          MetricName: 'ActiveModelReadErrors',
          Namespace: 'DistilledIntentRouter',
          Dimensions: [{ Name: 'service', Value: 'intent-router' }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: ALARM_THRESHOLDS.activeModelReadErrorPeriods,
          DatapointsToAlarm: ALARM_THRESHOLDS.activeModelReadErrorPeriods,
          TreatMissingData: 'notBreaching',
        }),
        expect.objectContaining({
          Threshold: ALARM_THRESHOLDS.fallbackPercent,
          Metrics: expect.arrayContaining([
            expect.objectContaining({ Expression: 'IF(queries > 0, 100 * fallbacks / queries, 0)' }),
          ]),
        }),
      ]),
    );
  });

  it("shows the pipeline's executions on the dashboard, by the state machine's conventional ARN", () => {
    const api = synth({ envName: 'qa' }).templates.api;
    const body = JSON.stringify(ofType(api, 'AWS::CloudWatch::Dashboard')[0]?.[1].Properties['DashboardBody']);
    expect(body).toContain('ExecutionsFailed');
    expect(body).toContain(':stateMachine:IntentRouter-qa-Pipeline');
    expect(body).toContain('StudentLatency');
    expect(body).toContain('ActiveModelReadErrors');
  });
});

describe('router monitoring: the canary alarms', () => {
  const api = synth({ envName: 'qa', minDominantAgreement: 0.8, canaryMinutes: 45 }).templates.api;
  const canary = Object.fromEntries(
    ofType(api, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => String(a['AlarmName'] ?? '').includes('-Canary-'))
      .map((a) => [String(a['AlarmName']), a]),
  );
  type Query = {
    Id: string;
    Expression?: string;
    ReturnData?: boolean;
    MetricStat?: {
      Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] };
      Stat: string;
      Period: number;
    };
  };
  const queries = (name: string) => (canary[name]?.['Metrics'] ?? []) as Query[];
  const dims = (q: Query | undefined) =>
    Object.fromEntries((q?.MetricStat?.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));

  it('creates exactly the alarms the pipeline reads by name, with no action (the pipeline notifies)', () => {
    expect(Object.keys(canary).sort()).toEqual(CANARY_CHECKS.map((c) => canaryAlarmName('qa', c)).sort());
    for (const alarm of Object.values(canary)) {
      expect(alarm['AlarmActions']).toBeUndefined();
      expect(alarm['TreatMissingData']).toBe('notBreaching');
    }
  });

  it.each([
    ['InvalidReplies', 'InvalidReplies', ALARM_THRESHOLDS.canaryInvalidReplyPercent],
    ['Fallbacks', 'Fallbacks', ALARM_THRESHOLDS.canaryFallbackPercent],
  ] as const)('%s: a rate of the candidate only, per minute, 3 of 3', (check, metric, threshold) => {
    const alarm = canary[canaryAlarmName('qa', check)] ?? {};
    expect(alarm).toMatchObject({
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    const stats = queries(canaryAlarmName('qa', check)).filter((q) => q.MetricStat);
    expect(stats.map((q) => q.MetricStat?.Period)).toEqual(stats.map(() => 60));
    for (const q of stats) expect(dims(q)).toEqual({ service: 'intent-router', Variant: 'candidate' });
    expect(stats.map((q) => q.MetricStat?.Metric.MetricName)).toEqual(
      expect.arrayContaining([metric, 'Queries', ...(check === 'Fallbacks' ? ['CanaryRefused'] : [])]),
    );
    const expression = queries(canaryAlarmName('qa', check)).find((q) => q.Expression)?.Expression;
    expect(expression).toBe(
      `IF(candidateQueries >= ${ALARM_THRESHOLDS.canaryMinQueriesPerPeriod}, ` +
        `100 * (candidate${metric}${check === 'Fallbacks' ? ' + candidateCanaryRefused' : ''}) / candidateQueries, 0)`,
    );
  });

  it("LatencyP99: the candidate's p99 against the incumbent's, beyond a margin of the budget", () => {
    const name = canaryAlarmName('qa', 'LatencyP99');
    expect(canary[name]).toMatchObject({ Threshold: 1500 * ALARM_THRESHOLDS.canaryLatencyMarginOfBudget });
    const byId = Object.fromEntries(queries(name).map((q) => [q.Id, q]));
    expect(byId['candidate']?.MetricStat).toMatchObject({ Stat: 'p99', Metric: { MetricName: 'Latency' } });
    expect(dims(byId['candidate'])).toEqual({ service: 'intent-router', Variant: 'candidate' });
    expect(dims(byId['incumbent'])).toEqual({ service: 'intent-router', Variant: 'incumbent' });
    expect(queries(name).find((q) => q.ReturnData !== false)?.Expression).toBe(
      `IF(n >= ${ALARM_THRESHOLDS.canaryMinQueriesPerPeriod}, candidate - incumbent, 0)`,
    );
  });

  it("ShadowAgreement: the labeller's candidate agreement below minDominantAgreement once enough samples exist", () => {
    const name = canaryAlarmName('qa', 'ShadowAgreement');
    expect(canary[name]).toMatchObject({
      Threshold: 0.8,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
    });
    const byId = Object.fromEntries(queries(name).map((q) => [q.Id, q]));
    expect(byId['agreement']?.MetricStat).toMatchObject({
      Stat: 'Average',
      Period: 45 * 60,
      Metric: { MetricName: 'ShadowDominantAgreement' },
    });
    expect(dims(byId['agreement'])).toEqual({ service: 'intent-router-shadow', Variant: 'candidate' });
    expect(byId['n']?.MetricStat?.Stat).toBe('SampleCount');
    expect(queries(name).find((q) => q.ReturnData !== false)?.Expression).toBe('IF(n >= 30, agreement, 1)');
  });

  it('shows the variants side by side on the dashboard', () => {
    const body = JSON.stringify(ofType(api, 'AWS::CloudWatch::Dashboard')[0]?.[1].Properties['DashboardBody']);
    expect(body).toContain('Canary: latency p99 by variant');
    expect(body).toContain('\\"Variant\\",\\"candidate\\"');
    expect(body).toContain('\\"Variant\\",\\"incumbent\\"');
  });
});

describe('router stack: cdk-nag', () => {
  it.each([
    ['HTTP API, IAM auth (default)', {}],
    [
      'HTTP API, CORS, active tracing, account logging role, account set',
      {
        corsAllowOrigins: 'https://a.example.com,https://b.example.com',
        routerTracing: 'active',
        apiGatewayCloudWatchRole: 'true',
        account: '123456789012',
      },
    ],
    ['REST API, IAM auth', REST],
    [
      'API keys, CORS, fallback model, account set',
      { ...API_KEY, corsAllowOrigins: 'https://a.example.com', fallbackModelId: FALLBACK, account: '123456789012' },
    ],
  ])('has no unacknowledged finding with %s', (_name, context) => {
    expect(nagFindings(synth(context).stacks.api)).toEqual([]);
  });
});
