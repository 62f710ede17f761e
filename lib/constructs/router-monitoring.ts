import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AppConfig } from '../config';
import type { CanaryCheck } from '../naming';
import { routerAlarms, type RouterAlarms } from './router-alarms';
import type { RouterApiMetrics } from './router-api';
import { canaryMonitoring } from './router-canary-monitoring';
import { routerDashboard } from './router-dashboard';
import { routerFigures } from './router-metrics';

export interface RouterMonitoringProps {
  readonly config: AppConfig;
  /** The API's metrics, REST or HTTP API (RouterApi.metrics). */
  readonly api: RouterApiMetrics;
  readonly router: lambda.IFunction;
  readonly topic: sns.ITopic;
}

/**
 * Alarms (to the router stack's topic) and one dashboard with the router's and the pipeline's key figures. The parts
 * (router-alarms.ts, router-canary-monitoring.ts, router-dashboard.ts) create their resources in this construct itself,
 * so each keeps its construct id, logical id and name.
 */
export class RouterMonitoring extends Construct {
  readonly alarms: RouterAlarms;
  /**
   * The canary's alarms, named canaryAlarmName(envName, check): the pipeline's canary step reads their state by name.
   * No alarm action: the pipeline rolls back and notifies (naming the alarm and its figures) itself.
   */
  readonly canaryAlarms: Record<CanaryCheck, cloudwatch.Alarm>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RouterMonitoringProps) {
    super(scope, id);
    const { config, api } = props;
    const figures = routerFigures(api);
    this.alarms = routerAlarms(this, { config, router: props.router, topic: props.topic, figures });
    const canary = canaryMonitoring(this, config);
    this.canaryAlarms = canary.alarms;
    this.dashboard = routerDashboard(this, { config, api, figures, alarms: this.alarms, canaryRows: canary.rows });
  }
}
