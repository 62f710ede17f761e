import { candidateListSchema } from '../../core/candidates';
import { defineEnvironment, envTypes, variable } from '../../core/environment';

/** Preflight (set by lib/constructs/pipeline/stages/preflight.ts). */
export const PREFLIGHT_ENVIRONMENT = defineEnvironment({
  bucketName: variable('BUCKET_NAME', envTypes.text),
  teacherModelId: variable('TEACHER_MODEL_ID', envTypes.text),
  studentModelId: variable('STUDENT_MODEL_ID', envTypes.text),
  baselineModelId: variable('BASELINE_MODEL_ID', envTypes.text),
  judgeModelId: variable('JUDGE_MODEL_ID', envTypes.text),
  // Preflight refuses a run size the plan cannot balance (runSizeProblem) before any teacher call.
  queriesPerShard: variable('QUERIES_PER_SHARD', envTypes.int(1, 100_000)),
  generationSurplus: variable('GENERATION_SURPLUS', envTypes.number(0, 100)),
  // The incumbent (the student promoted when the run starts) is read here and gated against later.
  activeModelParameterName: variable('ACTIVE_MODEL_PARAMETER_NAME', envTypes.text),
  exampleCount: variable('EXAMPLE_COUNT', envTypes.int(0, Number.MAX_SAFE_INTEGER)),
  testExampleCount: variable('TEST_EXAMPLE_COUNT', envTypes.int(0, Number.MAX_SAFE_INTEGER)),
  // The configured candidates in order (config.candidates, validated at synth): the run's list unless its input says.
  candidates: variable('CANDIDATES', envTypes.json(candidateListSchema), (list) => JSON.stringify(list)),
});

/** What Lambda itself sets (no construct writes it): the function's Region. */
export const LAMBDA_REGION = defineEnvironment({ region: variable('AWS_REGION', envTypes.text) });
