import { BedrockClient, GetFoundationModelCommand } from '@aws-sdk/client-bedrock';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { isRetryable } from '../../core/bedrock';
import { regionProblem, REUSED_CANDIDATE_NAME, type CandidateSpec, type RunCandidate } from '../../core/candidates';
import { CURRENT_STUDENT_PROMPT_VERSION } from '../../core/student-format';
import { HELD_OUT_LIMITS, TRAINING_LIMITS } from '../../core/dataset-validator';
import { DEFAULT_TEACHER_MODEL_ID, DEPLOYMENT_REGIONS, parseModelId } from '../../core/model-ids';
import { productionRequest, type ProductionRequest } from '../generation/production-selection';
import { incumbentOf, type Incumbent } from '../../core/active-model';
import { readParameter } from '../../core/active-model-parameter';
import { runSizeProblem } from '../generation/query-plan';
import { claimRun, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { assertRunId } from '../../core/runs';
import { lambdaHandler, logger, parseInput, tracer } from '../../core/runtime';
import { LAMBDA_REGION, PREFLIGHT_ENVIRONMENT } from './environment';

/**
 * Preflight: stop before any money is spent when the run cannot succeed — the run id is not a valid name or belongs to
 * an earlier execution, a model the run uses (teacher, student, baseline, judge) is not ACTIVE, the region has no
 * on-demand custom-model deployment, or the example counts are outside Nova's limits. Input
 * `{ runId, executionId, startTime, input }` (the execution's name, id, start time and input); result at
 * `$.preflight`. Once every check passed, the run id is claimed for the execution (`runs/<runId>/owner.json`).
 *
 * It also checks the input's `fromProduction` (`true` or `{since, max}`; a bad day or count names the field and the
 * fix) and records the incumbent, the student promoted when the run starts (the active-model parameter), which the
 * candidates are evaluated and gated against.
 *
 * And it resolves the run's candidates (resolveRunCandidates): the configured list, filtered by the input's
 * `candidates` (names), or the one model given as `reuseModelArn`; each one its Region can train.
 */

export class PreflightFailed extends Error {
  override readonly name = 'PreflightFailed';
}

export interface ModelCheck {
  readonly modelId: string;
  readonly foundationModelId: string;
  readonly status: string;
}

/** `$.preflight` */
export interface PreflightResult {
  readonly runId: string;
  readonly region: string;
  readonly teacher: ModelCheck;
  readonly student: ModelCheck;
  readonly baseline: ModelCheck;
  readonly judge: ModelCheck;
  readonly exampleCount: number;
  readonly testExampleCount: number;
  /** The production records the run starts from (`{enabled: false}` for a synthetic-only run). */
  readonly fromProduction: ProductionRequest;
  /** The student promoted when the run started, or why there is none to compare with. */
  readonly incumbent: Incumbent;
  /** owner.json of the run; `firstClaim` false when a retry or redrive of the same execution found it. */
  readonly owner: { readonly key: string; readonly executionId: string; readonly firstClaim: boolean };
  /** The run's candidates, in the configured order (or the one given model). */
  readonly candidates: readonly RunCandidate[];
  /** The prompt versions the candidates train with: one training file each (in the candidates' order). */
  readonly promptVersions: readonly string[];
}

/** The execution input may override the configured counts for one run: `{"exampleCount": 2000}`. */
const inputSchema = z.object({
  runId: z.string(),
  executionId: z.string().min(1, 'must be the execution id ($$.Execution.Id)'),
  startTime: z.string().min(1, 'must be the execution start time ($$.Execution.StartTime)'),
  input: z
    .object({
      exampleCount: z.unknown().optional(),
      testExampleCount: z.unknown().optional(),
      fromProduction: z.unknown().optional(),
      reuseDatasetFromRun: z.unknown().optional(),
      reuseModelArn: z.unknown().optional(),
      candidates: z.unknown().optional(),
    })
    .optional(),
});

const bedrock = tracer.captureAWSv3Client(new BedrockClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const ssm = tracer.captureAWSv3Client(new SSMClient({}));

type ModelConfigKey = 'teacherModelId' | 'studentModelId' | 'baselineModelId' | 'judgeModelId' | 'candidates';

/** What to do about a model that is not ACTIVE, per config key. */
const LIFECYCLE_FIX: Record<ModelConfigKey, string> = {
  teacherModelId:
    'Set teacherModelId to an ACTIVE model Bedrock accepts as a distillation teacher for the student, such as the ' +
    `default "${DEFAULT_TEACHER_MODEL_ID}" (Nova Premier is Legacy since its 2026-09-14 end of life): ` +
    `npx cdk deploy -c teacherModelId=${DEFAULT_TEACHER_MODEL_ID}.`,
  studentModelId: 'Set studentModelId to an ACTIVE Nova student (Micro, Lite or Pro).',
  baselineModelId:
    'Set baselineModelId to an ACTIVE model to compare the student with (npx cdk deploy -c baselineModelId=…).',
  judgeModelId:
    'Set judgeModelId to an ACTIVE model of another family than the candidates (npx cdk deploy -c judgeModelId=…).',
  candidates:
    "Set the candidate's baseModelId to an ACTIVE Nova student, or remove the candidate (-c candidates=…, or start " +
    'the run with --candidates naming the others).',
};

async function checkModel(
  client: BedrockClient,
  configKey: ModelConfigKey | `candidate "${string}"`,
  modelId: string,
): Promise<ModelCheck> {
  const { foundationModelId } = parseModelId(modelId);
  let status: string;
  try {
    const out = await client.send(new GetFoundationModelCommand({ modelIdentifier: foundationModelId }));
    status = out.modelDetails?.modelLifecycle?.status ?? 'UNKNOWN';
  } catch (error) {
    if (isRetryable(error)) throw error; // the state machine's Retry handles it under its SDK name
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new PreflightFailed(
      `${configKey} "${modelId}": GetFoundationModel(${foundationModelId}) failed (${reason}). Check the id and that ` +
        'model access is granted in this account and region.',
    );
  }
  if (status !== 'ACTIVE') {
    throw new PreflightFailed(
      `${configKey} "${modelId}" (foundation model ${foundationModelId}) is ${status}, not ACTIVE. ` +
        LIFECYCLE_FIX[configKey.startsWith('candidate ') ? 'candidates' : (configKey as ModelConfigKey)],
    );
  }
  return { modelId, foundationModelId, status };
}

/** The checks, with the Bedrock client and run store given (tests pass them over aws-sdk-client-mock). */
export async function preflight(
  event: unknown,
  client: BedrockClient = bedrock,
  store?: RunStore,
): Promise<PreflightResult> {
  const env = PREFLIGHT_ENVIRONMENT.read(process.env);
  const { region } = LAMBDA_REGION.read(process.env);
  const { runId: given, executionId, startTime, input: overrides } = parseInput(inputSchema, event, 'Preflight');
  let runId: string;
  try {
    runId = assertRunId(given);
  } catch (error) {
    throw new PreflightFailed(`${(error as Error).message} Start the execution with such a name.`);
  }
  if (!(DEPLOYMENT_REGIONS as readonly string[]).includes(region)) {
    throw new PreflightFailed(
      `region ${region} has no on-demand custom-model deployment: set region to ${DEPLOYMENT_REGIONS.join(' or ')}.`,
    );
  }
  const exampleCount = countFor('exampleCount', overrides?.exampleCount, env.exampleCount, TRAINING_LIMITS);
  const testExampleCount = countFor(
    'testExampleCount',
    overrides?.testExampleCount,
    env.testExampleCount,
    HELD_OUT_LIMITS,
  );
  if (testExampleCount >= exampleCount) {
    throw new PreflightFailed(
      `testExampleCount ${testExampleCount} must be smaller than exampleCount ${exampleCount}: lower it.`,
    );
  }
  // The plan must fit the state and end balanced: refused here, before any teacher call, with the numbers and the fix.
  const sizeProblem = runSizeProblem({
    exampleCount,
    testExampleCount,
    queriesPerShard: env.queriesPerShard,
    generationSurplus: env.generationSurplus,
  });
  if (sizeProblem) {
    throw new PreflightFailed(`${sizeProblem} (queriesPerShard and generationSurplus: npx cdk deploy -c key=value)`);
  }
  let fromProduction: ProductionRequest;
  try {
    fromProduction = productionRequest(overrides?.fromProduction, startTime);
  } catch (error) {
    throw new PreflightFailed((error as Error).message);
  }
  if (fromProduction.enabled && overrides?.reuseDatasetFromRun !== undefined) {
    throw new PreflightFailed(
      'fromProduction and reuseDatasetFromRun exclude each other (a reused dataset is not assembled again): start ' +
        'the run with one of them.',
    );
  }
  const candidates = resolveRunCandidates({
    configured: env.candidates,
    names: overrides?.candidates,
    reuseModelArn: overrides?.reuseModelArn,
    region,
    studentModelId: env.studentModelId,
  });
  // One after the other, in the order the run uses them, so that the message names the first unusable one.
  const teacher = await checkModel(client, 'teacherModelId', env.teacherModelId);
  const student = await checkModel(client, 'studentModelId', env.studentModelId);
  const baseline = await checkModel(client, 'baselineModelId', env.baselineModelId);
  const judge = await checkModel(client, 'judgeModelId', env.judgeModelId);
  // A candidate's base model other than the student's (e.g. Nova Lite) is checked too, once per model.
  const checked = new Set([student.foundationModelId]);
  for (const candidate of candidates) {
    const { foundationModelId } = parseModelId(candidate.baseModelId);
    if (checked.has(foundationModelId)) continue;
    checked.add(foundationModelId);
    await checkModel(client, `candidate "${candidate.name}"`, candidate.baseModelId);
  }

  // No value when the parameter does not exist yet (the Api stack not deployed): nothing is promoted.
  const { value: activeModel } = await readParameter(ssm, env.activeModelParameterName);
  const incumbent = incumbentOf(activeModel, env.activeModelParameterName);

  // Last: a run that cannot start leaves nothing behind.
  const runStore = store ?? s3RunStore(s3, env.bucketName);
  const claim = await claimRun(runStore, { runId, executionId, startTime });
  if (!claim.owned) {
    const by = claim.owner
      ? `execution ${claim.owner.executionId} (started ${claim.owner.startTime})`
      : 'an earlier execution (its owner record is unreadable)';
    throw new PreflightFailed(
      `run id "${runId}" was already used by ${by}, see ${s3Uri(runStore.bucket, claim.key)}; its jobs, deployment and ` +
        'files carry that run id. Choose a new run id: start the execution under another name.',
    );
  }
  logger.info('preflight passed', {
    runId,
    teacher,
    student,
    baseline,
    judge,
    fromProduction,
    incumbent,
    candidates: candidates.map((c) => c.name),
    firstClaim: claim.firstClaim,
  });
  return {
    runId,
    region,
    teacher,
    student,
    baseline,
    judge,
    exampleCount,
    testExampleCount,
    fromProduction,
    incumbent,
    owner: { key: claim.key, executionId, firstClaim: claim.firstClaim },
    candidates,
    promptVersions: [...new Set(candidates.map((c) => c.promptVersion))],
  };
}

/**
 * The run's candidates: with `reuseModelArn`, the given model alone (candidate `given`, asked in the current student
 * prompt version, as a reused model always was); else the configured list, or the candidates the input names, in the
 * configured order. An unknown name, a name given twice, or a candidate this Region cannot train stops the run with
 * the names it knows and the fix.
 */
export function resolveRunCandidates(options: {
  readonly configured: readonly CandidateSpec[];
  readonly names: unknown;
  readonly reuseModelArn: unknown;
  readonly region: string;
  readonly studentModelId: string;
}): RunCandidate[] {
  const { configured, names, reuseModelArn, region } = options;
  const known = configured.map((c) => c.name).join(', ');
  if (reuseModelArn !== undefined) {
    if (names !== undefined) {
      throw new PreflightFailed(
        "candidates and reuseModelArn exclude each other (the given model is the run's only candidate): start the " +
          'run with one of them.',
      );
    }
    if (typeof reuseModelArn !== 'string' || reuseModelArn === '') {
      throw new PreflightFailed(
        `reuseModelArn in the execution input is ${JSON.stringify(reuseModelArn)}: give a custom model ARN.`,
      );
    }
    return [
      {
        name: REUSED_CANDIDATE_NAME,
        method: 'reused',
        baseModelId: options.studentModelId,
        promptVersion: CURRENT_STUDENT_PROMPT_VERSION,
        reusedModelArn: reuseModelArn,
      },
    ];
  }
  let selected: readonly CandidateSpec[] = configured;
  if (names !== undefined) {
    if (!Array.isArray(names) || names.length === 0 || !names.every((n): n is string => typeof n === 'string')) {
      throw new PreflightFailed(
        `candidates in the execution input is ${JSON.stringify(names)}: give a non-empty list of candidate names ` +
          `(configured: ${known}), e.g. ["${configured[0]?.name ?? 'ft-micro'}"].`,
      );
    }
    const unknown = names.filter((n) => !configured.some((c) => c.name === n));
    if (unknown.length > 0) {
      throw new PreflightFailed(
        `candidates in the execution input names ${unknown.map((n) => `"${n}"`).join(', ')}, which the configuration ` +
          `does not have: name some of ${known} (npm run pipeline -- start --candidates NAME[,NAME]).`,
      );
    }
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) {
      throw new PreflightFailed(`candidates in the execution input names "${twice}" twice: name each once.`);
    }
    selected = configured.filter((c) => names.includes(c.name));
  }
  for (const candidate of selected) {
    const problem = regionProblem(candidate, region);
    if (problem) {
      throw new PreflightFailed(
        `${problem.replace('deploy to', 'deploy the stacks to')} (this run's Region is ${region}, from AWS_REGION).`,
      );
    }
  }
  return [...selected];
}

/** A count from the execution input when given there, else the configured one; either way within Nova's limits. */
function countFor(
  key: 'exampleCount' | 'testExampleCount',
  override: unknown,
  configured: number,
  limits: { readonly minRecords: number; readonly maxRecords: number },
): number {
  const fromInput = override !== undefined;
  const value = fromInput ? override : configured;
  const where = fromInput ? `${key} in the execution input` : `${key} (configured)`;
  const fix = fromInput
    ? `start the run with a whole number from ${limits.minRecords} to ${limits.maxRecords}`
    : `set ${key} within it`;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new PreflightFailed(`${where} is ${JSON.stringify(value)}, not a whole number: ${fix}.`);
  }
  if (value < limits.minRecords || value > limits.maxRecords) {
    throw new PreflightFailed(`${where} ${value} is outside ${limits.minRecords}-${limits.maxRecords}: ${fix}.`);
  }
  return value;
}

export const handler = /* @__PURE__ */ lambdaHandler(preflight);
