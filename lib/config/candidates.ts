import { z } from 'zod';
import {
  baseModelSupport,
  CANDIDATE_BASE_MODELS,
  CANDIDATE_METHODS,
  CANDIDATE_NAME_PATTERN,
  HYPERPARAMETER_RANGES,
  NOVA_MICRO_BASE_MODEL_ID,
  regionProblem,
  REUSED_CANDIDATE_NAME,
  type CandidateMethod,
  type CandidateSpec,
  type FineTuningHyperParameters,
} from '../../lambda/core/candidates';
import { RESERVED_RUN_FOLDERS } from '../../lambda/core/runs';
import {
  CURRENT_STUDENT_PROMPT_VERSION,
  FINE_TUNED_STUDENT_PROMPT_VERSION,
  STUDENT_FORMATS,
  STUDENT_PROMPT_VERSIONS,
  type StudentPromptVersion,
} from '../../lambda/core/student-format';
import { json } from './fields';

/**
 * The `candidates` key: the students a run trains side by side, in order (docs/candidates.md). Each problem names the
 * candidate, the field and the fix; the rules that need other keys (the Region, studentModelId) are in ./rules.ts.
 */

/** A candidate as configured: baseModelId unset means studentModelId (resolved with the other keys). */
export interface ConfiguredCandidate extends Omit<CandidateSpec, 'baseModelId'> {
  readonly baseModelId?: string;
}

const KEYS = ['name', 'method', 'baseModelId', 'promptVersion', 'hyperParameters'] as const;
const HYPERPARAMETER_KEYS = Object.keys(HYPERPARAMETER_RANGES) as (keyof typeof HYPERPARAMETER_RANGES)[];

/** The prompt version a method trains with when none is given. */
export const DEFAULT_PROMPT_VERSION: Readonly<Record<CandidateMethod, StudentPromptVersion>> = {
  'fine-tuning': FINE_TUNED_STUDENT_PROMPT_VERSION,
  distillation: CURRENT_STUDENT_PROMPT_VERSION,
};

const BASE_MODELS = Object.values(CANDIDATE_BASE_MODELS)
  .map((m) => `"${m.customizationModelId}" (${m.name})`)
  .join(', ');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The problems of one candidate's own fields, and the candidate when there are none. */
function checkCandidate(raw: unknown, index: number): { problems: string[]; candidate?: ConfiguredCandidate } {
  const at = `candidate ${index + 1}`;
  if (!isRecord(raw)) {
    return { problems: [`${at} must be a JSON object such as {"name":"ft-micro","method":"fine-tuning"}`] };
  }
  const problems: string[] = [];
  const name = raw['name'];
  const nameOk = typeof name === 'string' && CANDIDATE_NAME_PATTERN.test(name);
  const who = nameOk ? `candidate "${name}"` : at;
  if (!nameOk) {
    problems.push(
      `${at}: name ${name === undefined ? 'is missing' : `${JSON.stringify(name)} is invalid`}: give 1-16 ` +
        'lowercase letters, digits and single dashes, starting with a letter (it names jobs, models and S3 folders), ' +
        'e.g. "ft-micro"',
    );
  } else if ([...RESERVED_RUN_FOLDERS, REUSED_CANDIDATE_NAME].includes(name)) {
    problems.push(
      `${who}: the name is reserved (${name === REUSED_CANDIDATE_NAME ? 'the model given with --reuse-model' : `runs/<runId>/${name}/ holds the run's own files`}): choose another name`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      problems.push(`${who}: unknown field "${key}": remove it (the fields are ${KEYS.join(', ')})`);
    }
  }
  const method = raw['method'];
  const methodOk = typeof method === 'string' && (CANDIDATE_METHODS as readonly string[]).includes(method);
  if (!methodOk) {
    problems.push(
      `${who}: method ${method === undefined ? 'is missing' : `${JSON.stringify(method)} is unknown`}: give ` +
        `${CANDIDATE_METHODS.map((m) => `"${m}"`).join(' or ')}`,
    );
  }
  const baseModelId = raw['baseModelId'];
  if (baseModelId !== undefined && (typeof baseModelId !== 'string' || baseModelSupport(baseModelId) === undefined)) {
    problems.push(
      `${who}: baseModelId ${JSON.stringify(baseModelId)} is not a base model a candidate can customize: give ` +
        `${BASE_MODELS}, or leave it unset for studentModelId`,
    );
  }
  const promptVersion = raw['promptVersion'];
  const versionOk =
    promptVersion === undefined ||
    (typeof promptVersion === 'string' && (STUDENT_PROMPT_VERSIONS as readonly string[]).includes(promptVersion));
  if (!versionOk) {
    problems.push(
      `${who}: promptVersion ${JSON.stringify(promptVersion)} is unknown: give one of ` +
        `${STUDENT_PROMPT_VERSIONS.join(', ')} (unset: ${DEFAULT_PROMPT_VERSION['fine-tuning']} for fine-tuning, ` +
        `${DEFAULT_PROMPT_VERSION.distillation} for distillation)`,
    );
  }
  const version = (promptVersion ?? (methodOk ? DEFAULT_PROMPT_VERSION[method as CandidateMethod] : undefined)) as
    StudentPromptVersion | undefined;
  if (method === 'distillation' && versionOk && version && !STUDENT_FORMATS[version].selfDescribing) {
    problems.push(
      `${who}: promptVersion ${version} is a fine-tuned student's minimal prompt, but a distillation job's teacher ` +
        "answers the records' prompt itself and this one tells it neither the rules nor the answer format: give " +
        `"${CURRENT_STUDENT_PROMPT_VERSION}" or "teacher-v1", or make the candidate "fine-tuning"`,
    );
  }
  const hyperParameters = checkHyperParameters(raw['hyperParameters'], who, method, problems);
  if (problems.length > 0 || !nameOk || !methodOk || !version) return { problems };
  return {
    problems,
    candidate: {
      name,
      method: method as CandidateMethod,
      ...(typeof baseModelId === 'string' ? { baseModelId } : {}),
      promptVersion: version,
      ...(hyperParameters ? { hyperParameters } : {}),
    },
  };
}

/** Fine-tuning's hyperparameters within Bedrock's documented ranges, defaults filled; none for distillation. */
function checkHyperParameters(
  raw: unknown,
  who: string,
  method: unknown,
  problems: string[],
): FineTuningHyperParameters | undefined {
  if (method === 'distillation') {
    if (raw !== undefined) {
      problems.push(
        `${who}: hyperParameters are for fine-tuning only (Bedrock distillation takes none): remove them, or make ` +
          'the candidate "fine-tuning"',
      );
    }
    return undefined;
  }
  if (method !== 'fine-tuning') return undefined;
  if (raw === undefined) {
    return {
      epochCount: HYPERPARAMETER_RANGES.epochCount.default,
      learningRate: HYPERPARAMETER_RANGES.learningRate.default,
    };
  }
  if (!isRecord(raw)) {
    problems.push(`${who}: hyperParameters must be a JSON object, e.g. {"epochCount":2,"learningRate":0.00001}`);
    return undefined;
  }
  const values: Partial<Record<keyof typeof HYPERPARAMETER_RANGES, number>> = {};
  for (const key of Object.keys(raw)) {
    if (!(HYPERPARAMETER_KEYS as string[]).includes(key)) {
      problems.push(
        `${who}: unknown hyperparameter "${key}": remove it (Bedrock's are ${HYPERPARAMETER_KEYS.join(', ')})`,
      );
    }
  }
  for (const key of HYPERPARAMETER_KEYS) {
    const value = raw[key];
    if (value === undefined) continue;
    const range = HYPERPARAMETER_RANGES[key];
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!range.integer || Number.isInteger(value)) &&
      value >= range.min &&
      value <= range.max;
    if (!ok) {
      problems.push(
        `${who}: hyperParameters.${key} ${JSON.stringify(value)} is outside Bedrock's range: give ` +
          `${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max} (default ${range.default}` +
          `${key === 'learningRateWarmupSteps' ? '; unset: training records / 640 for Micro, / 160 for Lite' : ''})`,
      );
    } else values[key] = value;
  }
  return {
    epochCount: values.epochCount ?? HYPERPARAMETER_RANGES.epochCount.default,
    learningRate: values.learningRate ?? HYPERPARAMETER_RANGES.learningRate.default,
    ...(values.learningRateWarmupSteps === undefined
      ? {}
      : { learningRateWarmupSteps: values.learningRateWarmupSteps }),
  };
}

/** The `candidates` key: JSON text (or a cdk.json list) of candidates, each checked on its own, names unique. */
export const candidatesField = json(
  z.array(z.unknown(), 'must be a JSON list of candidates').transform((list, ctx): ConfiguredCandidate[] => {
    const problems: string[] = [];
    const candidates: ConfiguredCandidate[] = [];
    if (list.length === 0)
      problems.push('must list at least one candidate (or leave candidates unset for the default two)');
    list.forEach((raw, i) => {
      const checked = checkCandidate(raw, i);
      problems.push(...checked.problems);
      if (checked.candidate) candidates.push(checked.candidate);
    });
    const seen = new Set<string>();
    for (const { name } of candidates) {
      if (seen.has(name)) problems.push(`candidate "${name}" is listed twice: give each candidate its own name`);
      seen.add(name);
    }
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
    return problems.length > 0 ? z.NEVER : candidates;
  }),
);

/** What a `candidates` problem shows as the fix: the shape of the list. */
export const CANDIDATES_EXAMPLE =
  'give a JSON list, e.g. -c candidates=\'[{"name":"ft-micro","method":"fine-tuning","promptVersion":"student-v3",' +
  '"hyperParameters":{"epochCount":2}},{"name":"distill-micro","method":"distillation"}]\' (docs/candidates.md)';

/** The default list: prompt distillation by fine-tuning Nova Micro, then Bedrock distillation as before. */
export function defaultCandidates(studentModelId: string): CandidateSpec[] {
  return [
    {
      name: 'ft-micro',
      method: 'fine-tuning',
      baseModelId: NOVA_MICRO_BASE_MODEL_ID,
      promptVersion: FINE_TUNED_STUDENT_PROMPT_VERSION,
      hyperParameters: {
        epochCount: HYPERPARAMETER_RANGES.epochCount.default,
        learningRate: HYPERPARAMETER_RANGES.learningRate.default,
      },
    },
    {
      name: 'distill-micro',
      method: 'distillation',
      baseModelId: studentModelId,
      promptVersion: CURRENT_STUDENT_PROMPT_VERSION,
    },
  ];
}

/** A candidate the default list left out, and why (its Region cannot train it). */
export interface LeftOutCandidate {
  readonly name: string;
  readonly reason: string;
}

/**
 * The run's candidates from the config: the configured list with studentModelId filled in, or the default list
 * without the candidates the Region cannot train (those are named in `leftOut`; a configured one is refused instead,
 * by candidateRuleProblems).
 */
export function resolveCandidates(config: {
  readonly candidates?: readonly ConfiguredCandidate[] | undefined;
  readonly studentModelId: string;
  readonly region: string;
}): { candidates: CandidateSpec[]; leftOut: LeftOutCandidate[] } {
  if (config.candidates) {
    return {
      candidates: config.candidates.map((c) => ({ ...c, baseModelId: c.baseModelId ?? config.studentModelId })),
      leftOut: [],
    };
  }
  const all = defaultCandidates(config.studentModelId);
  // Only what the Region cannot train; a base model no candidate can customize is refused (candidateRuleProblems).
  const leftOut = all.flatMap((c) => {
    const reason = baseModelSupport(c.baseModelId) ? regionProblem(c, config.region) : undefined;
    return reason ? [{ name: c.name, reason }] : [];
  });
  return { candidates: all.filter((c) => !leftOut.some((l) => l.name === c.name)), leftOut };
}

/**
 * Problems of the candidates with the other keys, under the key to change: a base model studentModelId gives that no
 * candidate can customize (studentModelId), a Region that cannot train a configured candidate (candidates).
 */
export function candidateRuleProblems(config: {
  readonly candidates?: readonly ConfiguredCandidate[] | undefined;
  readonly studentModelId: string;
  readonly region: string;
}): { key: 'candidates' | 'studentModelId'; message: string }[] {
  const { candidates } = resolveCandidates(config);
  const problems: { key: 'candidates' | 'studentModelId'; message: string }[] = [];
  for (const candidate of candidates) {
    if (baseModelSupport(candidate.baseModelId) === undefined) {
      // Only studentModelId can give an unknown base model: a configured baseModelId was checked with its candidate.
      problems.push({
        key: 'studentModelId',
        message:
          `is the base model of candidate "${candidate.name}", but no candidate can customize it: set studentModelId ` +
          `(or the candidate's baseModelId) to ${BASE_MODELS}`,
      });
      continue;
    }
    // The default list already left out what the Region cannot train; a configured candidate is refused.
    const problem = config.candidates ? regionProblem(candidate, config.region) : undefined;
    if (problem) problems.push({ key: 'candidates', message: problem.replace('deploy to', 'set region to') });
  }
  if (candidates.length === 0 && problems.length === 0) {
    problems.push({
      key: 'candidates',
      message: `no candidate can be trained in ${config.region}: configure candidates this Region trains`,
    });
  }
  return problems;
}
