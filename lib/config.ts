import { z } from 'zod';
import { MAX_LABEL_BATCH_SIZE } from '../lambda/shared/batch-labelling';
import { MODALITIES } from '../lambda/shared/modality';
import { DEFAULT_TEACHER_MODEL_ID, DEPLOYMENT_REGIONS, parseModelId } from '../lambda/shared/model-ids';
import { DEFAULT_PRICES } from '../lambda/shared/prices';
import { runSizeProblem } from '../lambda/shared/query-plan';
import { closestMatch } from './text/closest';

/**
 * The app's whole configuration: one zod schema over CDK context, with defaults.
 * This is the only module that reads context; constructs receive the typed `AppConfig`.
 *
 * Context arrives as strings from `-c key=value` and as JSON values from cdk.json, so every
 * number and boolean is coerced, and structured values (prices, default weights) accept JSON text.
 */

const MODEL_ID = /^[a-zA-Z0-9.:_/-]{1,2048}$/;
const modelId = (what: string) =>
  z
    .string()
    .regex(
      MODEL_ID,
      `${what} must be a Bedrock model id, inference profile id or ARN (e.g. "us.amazon.nova-pro-v1:0")`,
    );

const intIn = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number(allowed).int(allowed).min(min, allowed).max(max, allowed);
};
const numberIn = (min: number, max: number) => {
  const allowed = `must be a number from ${min} to ${max}`;
  return z.coerce.number(allowed).min(min, allowed).max(max, allowed);
};

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** `-c retainData=false` arrives as the string "false": z.coerce.boolean would call that true. */
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(s)) return true;
  if (['false', 'no', '0'].includes(s)) return false;
  return v;
}, z.boolean('must be true or false'));

/** A structured value given as JSON text on the command line. */
const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, schema);

/**
 * `auto` (calibrate at the start of each run) or a fixed whole number of queries per labelling call. `-c` gives
 * strings, cdk.json numbers: both are read.
 */
const labelBatchSize = (() => {
  const allowed =
    `must be "auto" (calibrate at the start of each run) or a whole number from 1 to ${MAX_LABEL_BATCH_SIZE} ` +
    '(queries per teacher labelling call, no calibration; 1 labels one query per call)';
  return z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      const text = v.trim();
      return text === 'auto' || text === '' ? text : Number(text);
    },
    z.union([z.literal('auto'), z.number(allowed).int(allowed).min(1, allowed).max(MAX_LABEL_BATCH_SIZE, allowed)], {
      error: allowed,
    }),
  );
})();

const optionalText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const priceSchema = z.strictObject({
  inputPer1M: z.number().min(0),
  outputPer1M: z.number().min(0),
});

const weightsSchema = z
  .strictObject({
    visual: z.number().min(0).max(1),
    audio: z.number().min(0).max(1),
    transcription: z.number().min(0).max(1),
    metadata: z.number().min(0).max(1),
  })
  .refine((w) => Math.abs(MODALITIES.reduce((s, m) => s + w[m], 0) - 1) <= 0.001, 'the four weights must sum to 1');

export const configSchema = z
  .strictObject({
    // --- identity and placement ---
    envName: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be 1-16 lowercase letters, digits or dashes, starting with a letter')
      .default('dev'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as us-east-1')
      .default('us-east-1'),
    account: optionalText(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id')),
    permissionsBoundaryArn: optionalText(
      z.string().regex(/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/.+$/, 'must be an IAM managed policy ARN'),
    ),
    notificationEmail: optionalText(z.email('must be an e-mail address')),
    retainData: bool.default(true),
    logRetentionDays: z.coerce
      .number()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),

    // --- models ---
    /** Nova Pro: ACTIVE and a documented distillation teacher for Nova Micro (see DEFAULT_TEACHER_MODEL_ID). */
    teacherModelId: modelId('teacherModelId').default(DEFAULT_TEACHER_MODEL_ID),
    studentModelId: modelId('studentModelId').default('amazon.nova-micro-v1:0:128k'),
    baselineModelId: modelId('baselineModelId').default('us.anthropic.claude-haiku-4-5-20251001-v1:0'),
    /** Judge of another family than the candidates (Nova student, Claude baseline): judges favour their own family. */
    judgeModelId: modelId('judgeModelId').default('us.meta.llama3-3-70b-instruct-v1:0'),

    // --- dataset generation ---
    exampleCount: intIn(100, 15000).default(10000),
    testExampleCount: intIn(50, 1000).default(500),
    queriesPerShard: intIn(10, 500).default(100),
    /** Extra queries planned on top of the target so that rebalancing on the teacher's labels still fills every quota. */
    generationSurplus: numberIn(0, 2).default(0.35),
    generationConcurrency: intIn(1, 1000).default(10),
    /** Teacher label calls in flight inside one shard. */
    labelConcurrency: intIn(1, 64).default(8),
    /** Queries per teacher labelling call: `auto` calibrates each run (Calibrate labelling), a number fixes it. */
    labelBatchSize: labelBatchSize.default('auto'),
    /** Calibration: a batch size passes when its dominant modality agrees with single labels on this share… */
    calibrationMinAgreement: numberIn(0, 1).default(0.95),
    /** …and its weights differ from them by at most this mean absolute error. */
    calibrationMaxWeightError: numberIn(0, 1).default(0.03),
    /** Failed shards the Map tolerates, in percent; more than that fails the run. */
    maxShardFailurePercent: numberIn(0, 100).default(10),
    /** Below this share labelled, a run whose dataset would come out short fails with the cause (full quotas go on). */
    minGenerationSuccessRate: numberIn(0, 1).default(0.9),
    includeReasoning: bool.default(false),

    // --- distillation, deployment, evaluation ---
    maxResponseLengthForInference: intIn(1, 16000).default(1000),
    jobPollMinutes: intIn(1, 60).default(5),
    deploymentPollMinutes: intIn(1, 60).default(1),
    pipelineTimeoutHours: intIn(1, 168).default(24),
    evaluationConcurrency: intIn(1, 64).default(8),
    minJudgeScore: numberIn(1, 5).default(4.0),
    maxJudgeGapToBaseline: numberIn(0, 4).default(0.25),
    minDominantAgreement: numberIn(0, 1).default(0.85),
    minValidReplyRate: numberIn(0, 1).default(0.98),

    // --- learning from production ---
    /** Share of a run's production records held out (stratified by modality) as production's own test set. */
    productionHoldOutShare: numberIn(0, 0.5).default(0.1),
    /** Gate: how far below the incumbent's judge score the candidate may be (3 standard errors at 500 prompts). */
    maxJudgeDropToIncumbent: numberIn(0, 4).default(0.1),
    /** Gate: how far below the incumbent's dominant agreement the candidate may be (about 2 standard errors). */
    maxAgreementDropToIncumbent: numberIn(0, 1).default(0.03),

    // --- router API ---
    apiAuth: z.enum(['iam', 'apiKey']).default('iam'),
    /**
     * Whether this environment sets the account's API Gateway CloudWatch Logs role (one per account and Region, shared
     * by every REST API there). Off by default: set it on one environment only, where the account has no role yet.
     */
    apiGatewayCloudWatchRole: bool.default(false),
    apiThrottleRateLimit: intIn(1, 100000).default(100),
    apiThrottleBurstLimit: intIn(1, 100000).default(200),
    /** Origins allowed by CORS; empty (the default) turns CORS off. Comma-separated on the command line. */
    corsAllowOrigins: z
      .preprocess(
        (v) =>
          typeof v === 'string'
            ? v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : v,
        z.array(z.string().regex(/^(\*|https?:\/\/[^\s,]+)$/, 'must be "*" or an http(s) origin')),
      )
      .default([]),
    /** Per-request time the router gives the model(s) before answering with the default weights. */
    latencyBudgetMs: intIn(100, 29000).default(1500),
    fallbackModelId: optionalText(modelId('fallbackModelId')),
    defaultWeights: json(weightsSchema).default({ visual: 0.4, audio: 0.2, transcription: 0.2, metadata: 0.2 }),
    cacheSize: intIn(0, 1000000).default(10000),
    cacheTtlSeconds: intIn(0, 86400).default(300),
    parameterCacheTtlSeconds: intIn(0, 3600).default(60),
    logQueries: bool.default(false),
    routerMemoryMb: intIn(128, 10240).default(512),
    routerMaxTokens: intIn(16, 1024).default(80),

    // --- production loop ---
    /** Share of live queries the teacher also labels, off the request path (0 turns the loop off). */
    shadowSampleRate: numberIn(0, 1).default(0.005),
    /** How long an unlabelled sample waits in the hand-off queue (SQS allows 1 minute to 14 days). */
    shadowQueueRetentionHours: intIn(1, 336).default(96),
    /** Shadow samples an alarm window needs before the agreement alarm may fire (no alarm on too few). */
    shadowMinSamples: intIn(10, 100000).default(200),
    /** Jensen–Shannon divergence (0-1) of live dominant modalities vs. the training set that raises the drift alarm. */
    driftThreshold: numberIn(0, 1).default(0.1),
    /** Days production records are kept under production/records/ of the dataset bucket. */
    productionDataRetentionDays: intIn(1, 3650).default(180),
    /** Shadow labeller invocations in flight (SQS event source maxConcurrency, 2-1,000). */
    labellerConcurrency: intIn(2, 1000).default(2),
    /** Messages per labeller invocation (each holds 1-25 samples). */
    labellerBatchSize: intIn(1, 100).default(10),

    // --- canary ---
    /** Share of live traffic (by query) a gated candidate answers before full promotion; 0 promotes at once. */
    canaryShare: numberIn(0, 0.5).default(0.1),
    /** How long the candidate's alarms must stay quiet before it is promoted. */
    canaryMinutes: intIn(5, 1440).default(60),
    /** Wait between two reads of the canary's alarms. */
    canaryCheckMinutes: intIn(1, 60).default(5),
    // --- canary (router) ---
    /**
     * Labelled shadow samples of the candidate, over the canary window, before its agreement can alarm: fewer say too
     * little (at 30, one disagreement moves the figure by 3 points).
     */
    canaryShadowMinSamples: intIn(5, 100000).default(30),
    /**
     * Shadow sample rate of the candidate's queries during a canary (at least shadowSampleRate): at the base 0.5 % a
     * 10 % canary at 10M queries/month gets ~7 samples an hour, too few for its agreement alarm within canaryMinutes.
     */
    canaryShadowSampleRate: numberIn(0, 1).default(0.05),

    // --- costs ---
    /** Price overrides per model id, USD per 1M tokens; merged over the built-in table. */
    prices: json(z.record(z.string(), priceSchema)).default({}),
  })
  // Cross-field rules, checked only once every field is valid (so one bad value gives one message).
  .refine((c) => c.testExampleCount < c.exampleCount, {
    path: ['testExampleCount'],
    error: 'must be smaller than exampleCount',
    when: (payload) => payload.issues.length === 0,
  })
  .refine((c) => (DEPLOYMENT_REGIONS as readonly string[]).includes(c.region), {
    path: ['region'],
    error: `has no on-demand custom-model deployment, which serves the student: set region to ${DEPLOYMENT_REGIONS.join(
      ' or ',
    )} (-c region=us-east-1)`,
    when: (payload) => payload.issues.length === 0,
  })
  .refine((c) => parseModelId(c.studentModelId).profile === undefined, {
    path: ['studentModelId'],
    error:
      'is a cross-Region inference profile; a distillation student must be a base model: drop the Region prefix ' +
      '(e.g. "amazon.nova-micro-v1:0:128k")',
    when: (payload) => payload.issues.length === 0,
  })
  // The same check Preflight makes on execution-input overrides: a size the plan cannot balance never reaches a run.
  .superRefine((c, ctx) => {
    if (c.testExampleCount >= c.exampleCount) return; // reported above
    const problem = runSizeProblem(c);
    // Reported under the key its fix names: too many shards → queriesPerShard, too few queries → generationSurplus.
    const key = problem?.includes('raise queriesPerShard') ? 'queriesPerShard' : 'generationSurplus';
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
  })
  .refine((c) => c.apiThrottleBurstLimit >= c.apiThrottleRateLimit, {
    path: ['apiThrottleBurstLimit'],
    error: 'must be at least apiThrottleRateLimit',
    when: (payload) => payload.issues.length === 0,
  });

export type AppConfig = z.output<typeof configSchema> & {
  /** The built-in price table with the `prices` overrides applied. */
  readonly priceTable: Readonly<Record<string, { inputPer1M: number; outputPer1M: number }>>;
};
export type ConfigInput = z.input<typeof configSchema>;
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof ConfigInput)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (CDK context):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Context keys of the CDK itself, its CLI and its context providers: never ours, never reported as unknown. Anything
 * else that is not one of our keys is a mistake, whatever its case (`EnvName`, `env_name`, `example-count`).
 */
const CDK_KEY_PREFIXES = ['@aws-cdk/', '@aws-cdk-containers/', 'aws:cdk:', 'aws-cdk:', 'cdk-', 'cdk:'];
const CDK_KEYS = ['cli-telemetry', 'acknowledged-issue-numbers', 'assembly-output', 'bundling-stacks'];
/** Cached context-provider lookups in cdk.context.json: `availability-zones:account=…:region=…`, `ssm:account=…`. */
const CONTEXT_LOOKUP = /^[a-z][a-z0-9-]*:account=/;
export const isCdkKey = (key: string): boolean =>
  CDK_KEY_PREFIXES.some((p) => key.startsWith(p)) || CDK_KEYS.includes(key) || CONTEXT_LOOKUP.test(key);

/** Parse raw context values (as from `app.node.getAllContext()`) into the typed config, or throw one ConfigError. */
export function parseConfig(context: Record<string, unknown>): AppConfig {
  const ours = Object.fromEntries(Object.entries(context).filter(([k]) => !isCdkKey(k)));
  const problems: string[] = [];
  for (const key of Object.keys(ours)) {
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      const near = closestMatch(key, CONFIG_KEYS);
      problems.push(
        `unknown key "${key}"${near ? ` — did you mean "${near}"?` : '.'} Known keys: ${CONFIG_KEYS.join(', ')}.`,
      );
    }
  }
  const known = Object.fromEntries(Object.entries(ours).filter(([k]) => (CONFIG_KEYS as string[]).includes(k)));
  const result = configSchema.safeParse(known);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.map(String).join('.');
      const top = issue.path[0];
      const given = typeof top === 'string' && top in known ? ` (given: ${JSON.stringify(known[top])})` : '';
      problems.push(`${key}${given}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const config = result.data;
  return { ...config, priceTable: { ...DEFAULT_PRICES, ...config.prices } };
}
