import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { toJSONSchema } from 'zod/mini';
import { BATCH_PATH, PUBLISHED_SCHEMAS, ROUTE_PATH, type PublishedSchemaName } from '../../lambda/router/contract';
import { routerEnvironment } from '../../lambda/router/settings';
import { isCustomModelDeploymentArn, parseModelId } from '../../lambda/core/model-ids';
import type { ApiType, AppConfig } from '../config';
import { projectTags, shadowQueueName } from '../naming';
import { Function } from './function';
import { accessLogFormat } from './router-access-log';
import { RouterHttpApi } from './router-http-api';

/** Powertools service name of the router: the `service` dimension of its metrics. */
export const ROUTER_SERVICE_NAME = 'intent-router';
/** The REST API's stage: the URL is https://<id>.execute-api.<region>.amazonaws.com/api/v1/route. */
export const STAGE_NAME = 'api';

/**
 * What the monitoring reads of either kind of API: RestApi and HttpApi both have these (their metric names differ:
 * 5XXError/4XXError on a REST API, 5xx/4xx on an HTTP API).
 */
export interface RouterApiMetrics {
  readonly kind: ApiType;
  /** The API's name, as the console lists it. */
  readonly name: string;
  metricCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** One JSON Schema (draft-04, what API Gateway models take) per published schema, derived from the zod/mini contract. */
export function publishedJsonSchemas(): Record<PublishedSchemaName, Record<string, unknown>> {
  const toJson = (name: PublishedSchemaName): Record<string, unknown> => ({
    ...toJSONSchema(PUBLISHED_SCHEMAS[name], { target: 'draft-4', io: 'input', unrepresentable: 'throw' }),
  });
  return {
    RouteRequest: toJson('RouteRequest'),
    BatchRouteRequest: toJson('BatchRouteRequest'),
    RouteResponse: toJson('RouteResponse'),
    BatchRouteResponse: toJson('BatchRouteResponse'),
    Error: toJson('Error'),
  };
}

/**
 * The gateway's own error responses in the API's error shape, {"error": {"code", "message"}}: `messageString` is
 * already a quoted JSON string; a body refused by the validator says why (the validation error, made JSON-safe).
 */
export const GATEWAY_ERROR_TEMPLATE =
  '{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}';
export const BAD_REQUEST_BODY_TEMPLATE =
  '{"error":{"code":"BAD_REQUEST_BODY","message":"the body does not match the request model: ' +
  `$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\\\'","'")"}}`;

export interface RouterApiProps {
  readonly config: AppConfig;
  /** The active-model parameter the router reads (and the pipeline's promote step writes). */
  readonly activeModel: ssm.IStringParameter;
}

/**
 * The routing API in front of the router Lambda, with least-privilege access to Bedrock and the active-model
 * parameter: an HTTP API (apiType=http: IAM auth, stage throttling, access logs) or a REST API (apiType=rest: IAM or
 * API-key auth, request models and validator, stage throttling, access and execution logs, X-Ray when routerTracing is
 * active).
 */
export class RouterApi extends Construct {
  readonly apiType: ApiType;
  /** Base URL of the API, ending in "/": POST <url>v1/route. */
  readonly url: string;
  readonly metrics: RouterApiMetrics;
  /** apiType=rest only. */
  readonly restApi?: apigw.RestApi;
  /** apiType=http only. */
  readonly httpApi?: RouterHttpApi;
  readonly router: Function;
  readonly accessLogs: logs.LogGroup;
  /** apiType=rest only: an HTTP API has no execution logs. */
  readonly executionLogs?: logs.LogGroup;
  readonly apiKey?: apigw.IApiKey;
  readonly usagePlan?: apigw.UsagePlan;

  constructor(scope: Construct, id: string, props: RouterApiProps) {
    super(scope, id);
    const { config } = props;

    this.router = new Function(this, 'Router', {
      entry: 'router/handler.ts',
      description: 'Routes video search queries to modality weights with the promoted student',
      serviceName: ROUTER_SERVICE_NAME,
      logRetentionDays: config.logRetentionDays,
      retainLogs: config.retainData,
      memorySize: config.routerMemoryMb,
      // PassThrough: traced when the caller's request is sampled, without Lambda's own 1 req/s + 5 % sampling.
      tracing: config.routerTracing === 'active' ? lambda.Tracing.ACTIVE : lambda.Tracing.PASS_THROUGH,
      platformLogs: config.routerPlatformLogs,
      // The budget bounds the model calls; the rest is slack for a cold start.
      timeout: Duration.seconds(Math.ceil(config.latencyBudgetMs / 1000) + 5),
      environment: routerEnvironment({
        activeModelParameter: props.activeModel.parameterName,
        parameterCacheTtlSeconds: config.parameterCacheTtlSeconds,
        latencyBudgetMs: config.latencyBudgetMs,
        fallbackModelId: config.fallbackModelId,
        defaultWeights: config.defaultWeights,
        cacheSize: config.cacheSize,
        cacheTtlSeconds: config.cacheTtlSeconds,
        logQueries: config.logQueries,
        routedLogSampleRate: config.routerLogSampleRate,
        maxTokens: config.routerMaxTokens,
        corsAllowOrigins: config.corsAllowOrigins,
        ...(config.shadowSampleRate > 0
          ? {
              shadow: {
                sampleRate: config.shadowSampleRate,
                queueUrl: shadowQueueUrl(Stack.of(this), config.envName),
                canarySampleRate: Math.max(config.shadowSampleRate, config.canaryShadowSampleRate),
              },
            }
          : {}),
      }),
    });
    this.grantRouterAccess(props);

    // Who called and how it went: kept with the rest of the environment's data when retainData is true.
    const logRemovalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: logRemovalPolicy,
    });
    this.apiType = config.apiType;
    if (config.apiType === 'http') {
      const http = new RouterHttpApi(this, 'HttpApi', {
        config,
        handler: this.router.function,
        accessLogs: this.accessLogs,
      });
      this.httpApi = http;
      this.url = http.url;
      this.metrics = {
        kind: 'http',
        name: http.api.httpApiName ?? `intent-router-${config.envName}`,
        ...metricsOf(http.api),
      };
      if (config.apiGatewayCloudWatchRole) this.setAccountLoggingRole();
      return;
    }

    const iamAuth = config.apiAuth === 'iam';
    const cors = config.corsAllowOrigins.length > 0;
    const api = new apigw.RestApi(this, 'Api', {
      restApiName: `intent-router-${config.envName}`,
      description: `Distilled intent router (${config.envName}): POST ${ROUTE_PATH}, POST ${BATCH_PATH}`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Access and execution logs need the account's API Gateway CloudWatch Logs role: one setting per account and
      // Region, shared by every REST API there, so only the one environment configured to own it sets it (the CDK's
      // own advice: one CfnAccount per environment). Kept when that environment is destroyed whatever retainData says:
      // the other APIs of the account keep logging through it (deleting the stack does not reset the setting, and a
      // deleted role would break their logs).
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      ...(config.apiGatewayCloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: config.apiThrottleRateLimit,
        throttlingBurstLimit: config.apiThrottleBurstLimit,
        // Traced at the gateway only with routerTracing=active (it samples on its own, 1 req/s + 5 %, and bills per trace).
        tracingEnabled: config.routerTracing === 'active',
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Never log bodies: queries may hold personal data.
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(accessLogFormat('rest')),
      },
      defaultMethodOptions: iamAuth
        ? { authorizationType: apigw.AuthorizationType.IAM }
        : { authorizationType: apigw.AuthorizationType.NONE, apiKeyRequired: true },
      ...(cors
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: config.corsAllowOrigins,
              allowMethods: ['POST', 'OPTIONS'],
              allowHeaders: [...apigw.Cors.DEFAULT_HEADERS],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    // API Gateway writes execution logs (loggingLevel ERROR) to a group it creates on first use, named after the API
    // and stage: no stack would own it and it would never expire. Created here before the stage, it is the stack's,
    // with the retention and removal policy of the other log groups. (A stage deployed before this group was added
    // may already have created it: delete that group once, then deploy.)
    this.executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${STAGE_NAME}`,
      retention: config.logRetentionDays,
      removalPolicy: logRemovalPolicy,
    });
    api.deploymentStage.node.addDependency(this.executionLogs);

    this.addGatewayResponses(api, cors ? config.corsAllowOrigins : []);
    this.addRoutes(api, iamAuth);

    if (!iamAuth) {
      // Per-team access: one usage plan with the stage throttle; give each team its own key (docs/router.md).
      this.usagePlan = api.addUsagePlan('UsagePlan', {
        name: `intent-router-${config.envName}`,
        description: 'Router API callers; add one API key per team',
        throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
        apiStages: [{ api, stage: api.deploymentStage }],
      });
      this.apiKey = api.addApiKey('DefaultKey', {
        apiKeyName: `intent-router-${config.envName}-default`,
        description: 'First router API key; create one per calling team',
      });
      this.usagePlan.addApiKey(this.apiKey);
    }

    Validations.of(api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF web ACL: every method requires SigV4 (IAM) or an API key, and stage throttling bounds the rate; ' +
        'the callers are internal search services. Associate a WAFv2 web ACL with the stage if it is exposed to the internet.',
    });
    if (config.apiGatewayCloudWatchRole) acknowledgeAccountLoggingPolicy(api);
    this.restApi = api;
    this.url = api.url;
    this.metrics = { kind: 'rest', name: api.restApiName, ...metricsOf(api) };
  }

  /**
   * The account's API Gateway CloudWatch Logs role with an HTTP API (which does not need it: its access logs are
   * delivered without it): the environment configured to own the setting keeps owning it for the account's REST APIs.
   * Built as the REST API builds it, under the same construct path (Router/Api/…), so its logical ids, and the
   * retained role and setting, stay the same whichever kind of API the environment serves.
   */
  private setAccountLoggingRole(): void {
    const scope = new Construct(this, 'Api');
    const role = new iam.Role(scope, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new apigw.CfnAccount(scope, 'Account', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    acknowledgeAccountLoggingPolicy(scope);
  }

  /**
   * Bedrock: custom-model deployments of this account and region plus the fallback model; KMS: the project's keys,
   * through Bedrock only (the distilled model's encryption); SSM: its one parameter.
   */
  private grantRouterAccess(props: RouterApiProps): void {
    const stack = Stack.of(this);
    const role = this.router.function.role;
    if (!role) throw new Error('the router function has no role');
    const deployments = stack.formatArn({
      service: 'bedrock',
      resource: 'custom-model-deployment',
      resourceName: '*',
    });
    this.router.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokePromotedStudent',
        actions: ['bedrock:InvokeModel'],
        resources: [deployments],
      }),
    );
    const fallback = fallbackModelArns(stack, props.config.fallbackModelId);
    if (fallback.length > 0) {
      this.router.function.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'InvokeFallbackModel', actions: ['bedrock:InvokeModel'], resources: fallback }),
      );
    }
    // The pipeline creates the distilled model with customModelKmsKeyId = its dataset bucket's key, so invoking the
    // deployment makes Bedrock use that key on the caller's behalf (Amazon Nova user guide, "Permissions and key
    // policies for custom Amazon Nova models", PermissionsModelInvocation: kms:Decrypt and kms:GenerateDataKey via
    // bedrock.<region>). The key lives in the pipeline stack and the stacks share no exports, so it is named by the
    // project's tags (lib/naming.ts projectTags, on every resource of both stacks) and usable only through Bedrock.
    const projectKeys = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    this.router.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptDistilledModel',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [projectKeys],
        conditions: projectKeyViaService(stack, props.config, 'bedrock'),
      }),
    );
    if (props.config.shadowSampleRate > 0) {
      // The shadow hand-off: one queue of the pipeline stack, known by its conventional name (no exports). SQS
      // encrypts each message with the queue's key on the sender's behalf: GenerateDataKey (and Decrypt, for the
      // data key SQS reuses) through SQS only, on keys tagged with this project and environment.
      this.router.function.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'SendShadowSamples',
          actions: ['sqs:SendMessage'],
          resources: [shadowQueueArn(stack, props.config.envName)],
        }),
      );
      this.router.function.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EncryptShadowSamples',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [projectKeys],
          conditions: projectKeyViaService(stack, props.config, 'sqs'),
        }),
      );
    }
    this.router.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadActiveModel',
        actions: ['ssm:GetParameter'],
        resources: [props.activeModel.parameterArn],
      }),
    );
    Validations.of(role).acknowledge({
      // The finding names the ARN as cdk-nag prints it: unresolved pseudo parameters as <AWS::…>.
      id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:bedrock:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:custom-model-deployment/*]`,
      reason:
        'The promoted student is a custom-model deployment the pipeline creates at run time: its ARN is only known then ' +
        '(read from the active-model parameter). Limited to deployments of this account and Region.',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:kms:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:key/*]`,
      reason:
        "The distilled model is encrypted with the pipeline stack's dataset key, and the shadow queue with the " +
        "pipeline stack's queue key; the router stack cannot reference their ARNs (the stacks share no exports, by " +
        'design). Narrowed to keys tagged with this project and environment (aws:ResourceTag/Project, ' +
        'aws:ResourceTag/Environment), used only through Bedrock or SQS in this Region (kms:ViaService), in this account.',
    });
  }

  private addGatewayResponses(api: apigw.RestApi, corsOrigins: readonly string[]): void {
    // A static CORS origin only: gateway responses cannot echo one of several allowed origins.
    const corsHeaders: Record<string, string> =
      corsOrigins.length === 1 ? { 'Access-Control-Allow-Origin': `'${corsOrigins[0]}'` } : {};
    const json = (template: string) => ({ 'application/json': template });
    api.addGatewayResponse('Default4xx', {
      type: apigw.ResponseType.DEFAULT_4XX,
      templates: json(GATEWAY_ERROR_TEMPLATE),
      responseHeaders: corsHeaders,
    });
    api.addGatewayResponse('Default5xx', {
      type: apigw.ResponseType.DEFAULT_5XX,
      templates: json(GATEWAY_ERROR_TEMPLATE),
      responseHeaders: corsHeaders,
    });
    api.addGatewayResponse('BadRequestBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: json(BAD_REQUEST_BODY_TEMPLATE),
      responseHeaders: corsHeaders,
    });
  }

  private addRoutes(api: apigw.RestApi, iamAuth: boolean): void {
    const schemas = publishedJsonSchemas();
    const model = (name: PublishedSchemaName) => {
      const cfn = new apigw.CfnModel(this, `${name}Model`, {
        restApiId: api.restApiId,
        name,
        contentType: 'application/json',
        description: String(schemas[name]['description'] ?? name),
        schema: schemas[name],
      });
      return apigw.Model.fromModelName(this, `${name}ModelRef`, cfn.ref);
    };
    const errorModel = model('Error');
    const validator = new apigw.RequestValidator(this, 'BodyValidator', {
      restApi: api,
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const integration = new apigw.LambdaIntegration(this.router.function, { proxy: true });
    const errors: apigw.MethodResponse[] = ['400', '403', '429', '500'].map((statusCode) => ({
      statusCode,
      responseModels: { 'application/json': errorModel },
    }));

    const v1 = api.root.addResource('v1');
    const route = v1.addResource('route');
    const batch = route.addResource('batch');
    const methods = [
      route.addMethod('POST', integration, {
        operationName: 'route',
        requestValidator: validator,
        requestModels: { 'application/json': model('RouteRequest') },
        methodResponses: [
          { statusCode: '200', responseModels: { 'application/json': model('RouteResponse') } },
          ...errors,
        ],
      }),
      batch.addMethod('POST', integration, {
        operationName: 'routeBatch',
        requestValidator: validator,
        requestModels: { 'application/json': model('BatchRouteRequest') },
        methodResponses: [
          { statusCode: '200', responseModels: { 'application/json': model('BatchRouteResponse') } },
          ...errors,
        ],
      }),
    ];
    for (const method of methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: iamAuth
          ? 'Authorised with IAM (SigV4): the callers are AWS workloads with roles, not Cognito users.'
          : 'Authorised with API keys and a usage plan (apiAuth=apiKey): the callers are services identified per team, not Cognito users.',
      });
      if (!iamAuth) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'apiAuth=apiKey was chosen: every method requires an API key of the usage plan (per-team identity and quotas). The default, apiAuth=iam, uses SigV4.',
        });
      }
    }
  }
}

/** The API's metric methods, bound to it (RestApi and HttpApi have the same four). */
function metricsOf(api: Omit<RouterApiMetrics, 'kind' | 'name'>): Omit<RouterApiMetrics, 'kind' | 'name'> {
  return {
    metricCount: (props) => api.metricCount(props),
    metricClientError: (props) => api.metricClientError(props),
    metricServerError: (props) => api.metricServerError(props),
    metricLatency: (props) => api.metricLatency(props),
  };
}

function acknowledgeAccountLoggingPolicy(scope: Construct): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      "API Gateway's account-level CloudWatch role: the AWS managed policy is the documented way to let API Gateway write access and execution logs.",
  });
}

/**
 * The one kms:ViaService condition of the router's key grants: keys tagged with this project and environment, used
 * only by `service` in this Region on the router's behalf.
 */
export function projectKeyViaService(
  stack: Stack,
  config: Pick<AppConfig, 'envName'>,
  service: 'bedrock' | 'sqs',
): Record<string, Record<string, string>> {
  return {
    StringEquals: {
      'kms:ViaService': `${service}.${stack.region}.amazonaws.com`,
      ...Object.fromEntries(
        Object.entries(projectTags(config)).map(([tag, value]) => [`aws:ResourceTag/${tag}`, value]),
      ),
    },
  };
}

/** The shadow queue's ARN and URL, built from its conventional name (lib/naming.ts shadowQueueName). */
export const shadowQueueArn = (stack: Stack, envName: string) =>
  stack.formatArn({ service: 'sqs', resource: shadowQueueName(envName), arnFormat: ArnFormat.NO_RESOURCE_NAME });
export const shadowQueueUrl = (stack: Stack, envName: string) =>
  `https://sqs.${stack.region}.${stack.urlSuffix}/${stack.account}/${shadowQueueName(envName)}`;

const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);

/** The ARNs that let the router invoke the fallback model: a profile and its foundation models in each destination. */
export function fallbackModelArns(stack: Stack, modelId: string | undefined): string[] {
  if (!modelId || isCustomModelDeploymentArn(modelId)) return []; // deployments are covered by the deployment grant
  const parsed = parseModelId(modelId);
  if (!parsed.profile) {
    return [
      stack.formatArn({ service: 'bedrock', account: '', resource: 'foundation-model', resourceName: parsed.id }),
    ];
  }
  return [
    stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: parsed.id }),
    ...parsed.profile.regions.map((region) =>
      stack.formatArn({
        service: 'bedrock',
        region,
        account: '',
        resource: 'foundation-model',
        resourceName: parsed.foundationModelId,
      }),
    ),
  ];
}
