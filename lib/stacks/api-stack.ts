import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { activeModelParameterName, OUTPUTS } from '../naming';

export interface ApiStackProps extends StackProps {
  readonly config: AppConfig;
}

/** The router: API Gateway, router Lambda, the active-model parameter, alarms and dashboard. */
export class ApiStack extends Stack {
  readonly activeModel: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The pipeline's promote step writes this parameter by name; until then the router serves its fallback.
    this.activeModel = new ssm.StringParameter(this, 'ActiveModel', {
      parameterName: activeModelParameterName(config.envName),
      description: 'The promoted student the router serves (JSON); "none" until a run is promoted',
      stringValue: 'none',
    });

    new CfnOutput(this, OUTPUTS.activeModelParameterName, { value: this.activeModel.parameterName });
  }
}
