import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** The deployment stage's functions (set by lib/constructs/pipeline/stages/deployment.ts). */

export const DEPLOY_STUDENT_ENVIRONMENT = defineEnvironment({
  envName: variable('ENV_NAME', envTypes.text),
});

/** Check deployment reads nothing from its environment (the deployment ARN comes in its input). */
export const CHECK_DEPLOYMENT_ENVIRONMENT = defineEnvironment({});
