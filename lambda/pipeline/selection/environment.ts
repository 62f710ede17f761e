import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** Select candidate: the confidence its quality comparisons use (the gate's, set from config gateConfidence). */
export const SELECT_CANDIDATE_ENVIRONMENT = defineEnvironment({
  gateConfidence: variable('GATE_CONFIDENCE', envTypes.number(0.5, 1)),
});

/** Delete runners-up: only deployments tagged for this environment are deleted. */
export const DELETE_RUNNERS_UP_ENVIRONMENT = defineEnvironment({
  envName: variable('ENV_NAME', envTypes.text),
});
