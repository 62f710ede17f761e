import type { AppConfig } from './config';

/** Names shared across stacks and with the handlers. The two stacks meet only through these conventions. */
export const PROJECT = 'distilled-intent-router';
export const STACK_PREFIX = 'IntentRouter';

export const pipelineStackName = (envName: string) => `${STACK_PREFIX}-${envName}-Pipeline`;
export const apiStackName = (envName: string) => `${STACK_PREFIX}-${envName}-Api`;

/** The SSM parameter the router reads and the pipeline's promote step writes (no CloudFormation export between them). */
export const activeModelParameterName = (envName: string) => `/intent-router/${envName}/active-model`;

export const projectTags = (config: Pick<AppConfig, 'envName'>) => ({
  Project: PROJECT,
  Environment: config.envName,
});

/**
 * The shadow labeller's hand-off queue (pipeline stack): the router sends to it by this name, built into its URL and
 * ARN, so the stacks stay joined by a convention only.
 */
export const shadowQueueName = (envName: string) => `intent-router-${envName}-shadow`;

/** Names of the production loop's alarms (pipeline stack), so the router stack's dashboard can show their state. */
export const shadowAlarmNames = (envName: string) => ({
  agreement: `intent-router-${envName}-shadow-agreement`,
  drift: `intent-router-${envName}-shadow-drift`,
  labellerFailures: `intent-router-${envName}-shadow-labeller-failures`,
  deadLetters: `intent-router-${envName}-shadow-dead-letters`,
});

/** The pipeline state machine's name: fixed, so the API stack's dashboard and the run CLI can find it. */
export const stateMachineName = (envName: string) => `${STACK_PREFIX}-${envName}-Pipeline`;

/** Output keys of the stacks, looked up by the run CLI (`npm run pipeline`). */
export const OUTPUTS = {
  datasetBucketName: 'DatasetBucketName',
  notificationTopicArn: 'NotificationTopicArn',
  stateMachineArn: 'StateMachineArn',
  apiUrl: 'ApiUrl',
  activeModelParameterName: 'ActiveModelParameterName',
} as const;

/**
 * The alarms that judge a canary's candidate, one per check, on the candidate's variant only (the Api stack creates
 * them; the pipeline's canary step reads their state by these names: no export between the stacks).
 */
export const CANARY_CHECKS = ['InvalidReplies', 'Fallbacks', 'LatencyP99', 'ShadowAgreement'] as const;
export type CanaryCheck = (typeof CANARY_CHECKS)[number];
export const canaryAlarmName = (envName: string, check: CanaryCheck) => `${STACK_PREFIX}-${envName}-Canary-${check}`;
