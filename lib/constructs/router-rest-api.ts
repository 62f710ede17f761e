import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { toJSONSchema } from 'zod/mini';
import { BATCH_PATH, PUBLISHED_SCHEMAS, ROUTE_PATH, type PublishedSchemaName } from '../../lambda/router/contract';
import type { AppConfig } from '../config';
import { accessLogFormat } from './router-access-log';

/**
 * The router's REST API (apiType=rest): IAM or API-key auth, request models and validator, the gateway's errors in the
 * API's shape, stage throttling, access and execution logs, X-Ray when routerTracing is active; and the account's API
 * Gateway CloudWatch Logs role, which an environment may own whichever kind of API it serves.
 */

/** The REST API's stage: the URL is https://<id>.execute-api.<region>.amazonaws.com/api/v1/route. */
export const STAGE_NAME = 'api';

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

export interface RouterRestApi {
  readonly api: apigw.RestApi;
  readonly executionLogs: logs.LogGroup;
  /** apiAuth=apiKey only. */
  readonly usagePlan?: apigw.UsagePlan;
  readonly apiKey?: apigw.IApiKey;
}

/**
 * Builds the REST API in `scope` (the RouterApi construct itself, so the API, its models and log groups keep their
 * construct paths and logical ids) in front of `handler`.
 */
export function routerRestApi(
  scope: Construct,
  props: {
    readonly config: AppConfig;
    readonly handler: lambda.IFunction;
    readonly accessLogs: logs.ILogGroup;
    readonly logRemovalPolicy: RemovalPolicy;
  },
): RouterRestApi {
  const { config } = props;
  const iamAuth = config.apiAuth === 'iam';
  const cors = config.corsAllowOrigins.length > 0;
  const api = new apigw.RestApi(scope, 'Api', {
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
      accessLogDestination: new apigw.LogGroupLogDestination(props.accessLogs),
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
  const executionLogs = new logs.LogGroup(scope, 'ExecutionLogs', {
    logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${STAGE_NAME}`,
    retention: config.logRetentionDays,
    removalPolicy: props.logRemovalPolicy,
  });
  api.deploymentStage.node.addDependency(executionLogs);

  addGatewayResponses(api, cors ? config.corsAllowOrigins : []);
  addRoutes(scope, api, props.handler, iamAuth);

  const apiKeyAccess = iamAuth ? {} : addApiKeyAccess(api, config);

  Validations.of(api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG3',
    reason:
      'No WAF web ACL: every method requires SigV4 (IAM) or an API key, and stage throttling bounds the rate; ' +
      'the callers are internal search services. Associate a WAFv2 web ACL with the stage if it is exposed to the internet.',
  });
  if (config.apiGatewayCloudWatchRole) acknowledgeAccountLoggingPolicy(api);
  return { api, executionLogs, ...apiKeyAccess };
}

/**
 * The account's API Gateway CloudWatch Logs role with an HTTP API (which does not need it: its access logs are
 * delivered without it): the environment configured to own the setting keeps owning it for the account's REST APIs.
 * Built as the REST API builds it, under the same construct path (Router/Api/…), so its logical ids, and the
 * retained role and setting, stay the same whichever kind of API the environment serves.
 */
export function accountLoggingRole(routerApi: Construct): void {
  const scope = new Construct(routerApi, 'Api');
  const role = new iam.Role(scope, 'CloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
  });
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  const account = new apigw.CfnAccount(scope, 'Account', { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  acknowledgeAccountLoggingPolicy(scope);
}

/** Per-team access: one usage plan with the stage throttle; give each team its own key (docs/router.md). */
function addApiKeyAccess(
  api: apigw.RestApi,
  config: Pick<AppConfig, 'envName' | 'apiThrottleRateLimit' | 'apiThrottleBurstLimit'>,
): Required<Pick<RouterRestApi, 'usagePlan' | 'apiKey'>> {
  const usagePlan = api.addUsagePlan('UsagePlan', {
    name: `intent-router-${config.envName}`,
    description: 'Router API callers; add one API key per team',
    throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
    apiStages: [{ api, stage: api.deploymentStage }],
  });
  const apiKey = api.addApiKey('DefaultKey', {
    apiKeyName: `intent-router-${config.envName}-default`,
    description: 'First router API key; create one per calling team',
  });
  usagePlan.addApiKey(apiKey);
  return { usagePlan, apiKey };
}

function addGatewayResponses(api: apigw.RestApi, corsOrigins: readonly string[]): void {
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

function addRoutes(scope: Construct, api: apigw.RestApi, handler: lambda.IFunction, iamAuth: boolean): void {
  const schemas = publishedJsonSchemas();
  const model = (name: PublishedSchemaName) => {
    const cfn = new apigw.CfnModel(scope, `${name}Model`, {
      restApiId: api.restApiId,
      name,
      contentType: 'application/json',
      description: String(schemas[name]['description'] ?? name),
      schema: schemas[name],
    });
    return apigw.Model.fromModelName(scope, `${name}ModelRef`, cfn.ref);
  };
  const errorModel = model('Error');
  const validator = new apigw.RequestValidator(scope, 'BodyValidator', {
    restApi: api,
    requestValidatorName: 'body-and-parameters',
    validateRequestBody: true,
    validateRequestParameters: true,
  });
  const integration = new apigw.LambdaIntegration(handler, { proxy: true });
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

function acknowledgeAccountLoggingPolicy(scope: Construct): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      "API Gateway's account-level CloudWatch role: the AWS managed policy is the documented way to let API Gateway write access and execution logs.",
  });
}
