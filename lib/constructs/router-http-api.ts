import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BATCH_PATH, ROUTE_PATH } from '../../lambda/router/contract';
import type { AppConfig } from '../config';
import { accessLogFormat } from './router-access-log';

/** The HTTP API's stage: `$default`, served at the root of the API's URL (https://<apiId>.execute-api.<region>.amazonaws.com/). */
export const HTTP_STAGE_NAME = '$default';

export interface RouterHttpApiProps {
  readonly config: Pick<
    AppConfig,
    'envName' | 'apiThrottleRateLimit' | 'apiThrottleBurstLimit' | 'corsAllowOrigins' | 'apiAuth'
  >;
  readonly handler: lambda.IFunction;
  /** The access log group (the stack's AccessLogs, shared with the REST API so it keeps its logical id). */
  readonly accessLogs: logs.ILogGroup;
}

/**
 * The router's HTTP API (apiType=http): POST /v1/route and POST /v1/route/batch, each authorised with IAM (SigV4), a
 * Lambda proxy integration in payload format 1.0 (the event the router's handler already reads, as from the REST API),
 * one auto-deployed `$default` stage with the configured throttle and the JSON access log. No request models: the
 * router validates every body itself and answers 400 in the API's error shape (docs/router.md, "HTTP API or REST API").
 */
export class RouterHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;

  constructor(scope: Construct, id: string, props: RouterHttpApiProps) {
    super(scope, id);
    const { config } = props;
    if (config.apiAuth !== 'iam') {
      // The config refuses the combination (lib/config/rules.ts); this guards direct use of the construct.
      throw new Error('an HTTP API has no API keys or usage plans: use apiType=rest with apiAuth=apiKey');
    }
    const cors = config.corsAllowOrigins.length > 0;
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `intent-router-${config.envName}`,
      description: `Distilled intent router (${config.envName}): POST ${ROUTE_PATH}, POST ${BATCH_PATH}`,
      // The stage is added below with throttling and access logs, which the API's own default stage cannot take.
      createDefaultStage: false,
      ...(cors
        ? {
            // API Gateway answers the preflight itself (no OPTIONS route, so no unauthenticated route) and sets the
            // CORS headers on every response, echoing whichever allowed origin asked.
            corsPreflight: {
              allowOrigins: [...config.corsAllowOrigins],
              allowMethods: [apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.OPTIONS],
              allowHeaders: [...apigw.Cors.DEFAULT_HEADERS],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: HTTP_STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(props.accessLogs),
        format: apigw.AccessLogFormat.custom(accessLogFormat('http')),
      },
    });

    // Payload format 1.0: the REST API's proxy event (httpMethod, resource, path, headers, body), so one handler
    // serves both kinds of API. The integration grants API Gateway lambda:InvokeFunction for each route only.
    const integration = new HttpLambdaIntegration('Router', props.handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_1_0,
    });
    const authorizer = new HttpIamAuthorizer();
    for (const path of [ROUTE_PATH, BATCH_PATH]) {
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration, authorizer });
    }
  }

  /** The base URL callers append v1/route to: the `$default` stage's, ending in "/". */
  get url(): string {
    return this.stage.url;
  }
}
