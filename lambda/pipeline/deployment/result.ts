/**
 * What the deployment stage hands on through the state machine's state: each result sits at `$.<key>`
 * (lib/constructs/pipeline). Later stages import these types from here, never the reverse.
 */

/** `$.deployment` */
export interface DeploymentStarted {
  readonly deploymentArn: string;
  readonly deploymentName: string;
  readonly modelArn: string;
  /**
   * True when an existing deployment was used: the run's own (a retried step, a redrive) or one of the same model that
   * this environment created.
   */
  readonly reused: boolean;
}

/** `$.deploymentStatus` */
export interface DeploymentStatus {
  readonly status: string;
  readonly deploymentArn: string;
  readonly failureMessage: string;
}
