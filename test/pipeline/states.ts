import { CANDIDATES_STATES } from '../../lib/constructs/pipeline/stages/candidates';
import { DEPLOYMENT_STATES } from '../../lib/constructs/pipeline/stages/deployment';
import { EVALUATION_STATES } from '../../lib/constructs/pipeline/stages/evaluation';
import { GATE_STATES } from '../../lib/constructs/pipeline/stages/gate';
import { GENERATION_STATES } from '../../lib/constructs/pipeline/stages/generation';
import { PREFLIGHT_STATES } from '../../lib/constructs/pipeline/stages/preflight';
import { REPORT_STATES } from '../../lib/constructs/pipeline/stages/report';
import { CANARY_STATES, ROLLOUT_STATES } from '../../lib/constructs/pipeline/stages/rollout';
import { TRAINING_STATES } from '../../lib/constructs/pipeline/stages/training';

/**
 * The state names as the tests call them, from the stages that own them: `G` the run's start (Preflight, and the
 * generation with its "Reuse a dataset?" Choice; `done` ends a machine that mounts generation alone), `T` the states
 * after the dataset (with Reuse dataset, which stands in for Assemble), `C` the canary.
 */
export const G = {
  preflight: PREFLIGHT_STATES.preflight,
  plan: GENERATION_STATES.plan,
  calibrate: GENERATION_STATES.calibrate,
  generate: GENERATION_STATES.generate,
  generateShard: GENERATION_STATES.generateShard,
  assemble: GENERATION_STATES.assemble,
  reuseDataset: GENERATION_STATES.reuseChoice,
  done: 'Dataset ready',
} as const;

export const T = {
  ...CANDIDATES_STATES,
  ...TRAINING_STATES,
  ...DEPLOYMENT_STATES,
  ...EVALUATION_STATES,
  ...GATE_STATES,
  ...ROLLOUT_STATES,
  ...REPORT_STATES,
  reuseDataset: GENERATION_STATES.reuseDataset,
} as const;

export const C = CANARY_STATES;
