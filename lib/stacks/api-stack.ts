import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { Notifications } from '../constructs/notifications';
import { RouterApi } from '../constructs/router-api';
import { RouterMonitoring } from '../constructs/router-monitoring';
import { activeModelParameterName, OUTPUTS } from '../naming';

export interface ApiStackProps extends StackProps {
  readonly config: AppConfig;
}

/** The router: API Gateway (HTTP or REST API), router Lambda, the active-model parameter, alarms and dashboard. */
export class ApiStack extends Stack {
  readonly activeModel: ssm.StringParameter;
  readonly router: RouterApi;
  readonly notifications: Notifications;
  readonly monitoring: RouterMonitoring;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The pipeline's promote step writes this parameter by name; until then the router serves its fallback.
    this.activeModel = new ssm.StringParameter(this, 'ActiveModel', {
      parameterName: activeModelParameterName(config.envName),
      description: 'The promoted student the router serves (JSON); "none" until a run is promoted',
      stringValue: 'none',
    });

    this.router = new RouterApi(this, 'Router', { config, activeModel: this.activeModel });
    // The router's own topic: the two stacks share no resources (either can be deployed or destroyed alone).
    this.notifications = new Notifications(this, 'Alarms', { email: config.notificationEmail });
    this.monitoring = new RouterMonitoring(this, 'Monitoring', {
      config,
      api: this.router.metrics,
      router: this.router.router.function,
      topic: this.notifications.topic,
    });

    new CfnOutput(this, OUTPUTS.activeModelParameterName, { value: this.activeModel.parameterName });
    new CfnOutput(this, OUTPUTS.apiUrl, {
      value: this.router.url,
      description: 'Base URL of the router API: POST <ApiUrl>v1/route, POST <ApiUrl>v1/route/batch',
    });
    if (this.router.apiKey) {
      new CfnOutput(this, 'ApiKeyId', {
        value: this.router.apiKey.keyId,
        description: 'aws apigateway get-api-key --include-value --api-key <ApiKeyId> prints the key',
      });
    }
  }
}
