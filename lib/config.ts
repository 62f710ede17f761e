import { z } from 'zod';
import { MAX_LABEL_BATCH_SIZE } from '../lambda/pipeline/generation/batch-labelling';
import { MODALITIES } from '../lambda/core/modality';
import { DEFAULT_TEACHER_MODEL_ID, DEPLOYMENT_REGIONS, parseModelId } from '../lambda/core/model-ids';
import { DEFAULT_PRICES } from '../lambda/core/prices';
import { runSizeProblem } from '../lambda/pipeline/generation/query-plan';
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

/**
 * `-c retainData=false` arrives as the string "false": z.coerce.boolean would call that true. Only true and false (any
 * case) are read: `yes`, `1`, `on` are refused rather than guessed, the same for every boolean key.
 */
export const BOOLEAN_MESSAGE = 'must be true or false';
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : v;
}, z.boolean(BOOLEAN_MESSAGE));

/** A structured value given as JSON text on the command line; text that is not JSON is reported as such. */
export const NOT_JSON_MESSAGE = 'is not valid JSON';
const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: NOT_JSON_MESSAGE, input: v });
      return z.NEVER;
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

const API_TYPES = ['http', 'rest'] as const;

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
     * HTTP API ($1.00 per 1M requests) or REST API ($3.50). Unset: `http` with apiAuth=iam, `rest` with apiAuth=apiKey
     * (API keys and usage plans exist only on REST APIs). Resolved in AppConfig.apiType; docs/router.md has the trade-off.
     */
    apiType: z.optional(z.enum(API_TYPES)),
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
    /**
     * Share of requests whose "routed" line (request id, sources, latency) the router logs. Every request already has
     * its access log line and its metrics; the full line for each would double the router's log bill.
     */
    routerLogSampleRate: numberIn(0, 1).default(0.01),
    /**
     * Lambda's own start and report log events per router invocation (init duration, max memory used). Off: Lambda's
     * metrics still give duration, errors and throttles; the events cost as much as the rest of the router's logs.
     */
    routerPlatformLogs: bool.default(false),
    /** The router mostly waits on Bedrock and Lambda bills GB-seconds while it waits (docs/router.md, "Sizing"). */
    routerMemoryMb: intIn(128, 10240).default(128),
    /**
     * X-Ray for the router: `passThrough` traces a request only when its caller's trace header is sampled; `active`
     * also samples on its own (1 request/s + 5 %) and turns on tracing at the REST API stage.
     */
    routerTracing: z.enum(['passThrough', 'active']).default('passThrough'),
    routerMaxTokens: intIn(16, 1024).default(80),

    // --- production loop ---
    /**
     * Share of live queries the teacher also labels, off the request path (0 turns the loop off). 0.1 % of 10M
     * queries a month is ~330 labelled samples a day, for drift and agreement; each 0.1 % costs ~$0.39 per 1M queries
     * (npm run -s cost -- --json: serving.parts). A canary samples its candidate at canaryShadowSampleRate instead.
     */
    shadowSampleRate: numberIn(0, 1).default(0.001),
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
     * Shadow sample rate of the candidate's queries during a canary (at least shadowSampleRate): at the base 0.1 % a
     * 10 % canary at 10M queries/month gets ~1.4 samples an hour, too few for its agreement alarm within canaryMinutes.
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
  })
  .refine((c) => !(c.apiType === 'http' && c.apiAuth === 'apiKey'), {
    path: ['apiType'],
    error:
      'http cannot serve apiAuth=apiKey: API keys and usage plans exist only on REST APIs. Set apiType=rest (or leave ' +
      'it unset) to keep API keys (-c apiType=rest), or apiAuth=iam to use the HTTP API (-c apiAuth=iam)',
    when: (payload) => payload.issues.length === 0,
  });

/** API Gateway's two kinds of API the router can be served by (docs/router.md, "HTTP API or REST API"). */
export type ApiType = (typeof API_TYPES)[number];

/** The API kind an unset `apiType` resolves to: REST only where API keys need it. */
export const resolveApiType = (c: { apiType?: ApiType | undefined; apiAuth: 'iam' | 'apiKey' }): ApiType =>
  c.apiType ?? (c.apiAuth === 'apiKey' ? 'rest' : 'http');

export type AppConfig = Omit<z.output<typeof configSchema>, 'apiType'> & {
  /** `apiType` resolved (resolveApiType): never unset. */
  readonly apiType: ApiType;
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

/** The shape of each structured key, shown with its problem: what to give instead. */
const STRUCTURED_EXAMPLES: Readonly<Record<string, string>> = {
  defaultWeights:
    'give visual, audio, transcription and metadata, each from 0 to 1, e.g. ' +
    `-c defaultWeights='{"visual":0.4,"audio":0.2,"transcription":0.2,"metadata":0.2}'`,
  prices:
    'give a JSON object of model id to USD per 1M tokens, e.g. ' +
    `-c prices='{"amazon.nova-micro-v1:0":{"inputPer1M":0.035,"outputPer1M":0.14}}'`,
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'a list',
};

const MISSING = 'is missing';

/** The project's wording for the issues zod words itself (schemas with a message of their own keep it). */
function projectVoice(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? MISSING : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
    case 'invalid_value': {
      const options = issue.values.filter((v): v is string => typeof v === 'string');
      const near = typeof issue.input === 'string' ? closestMatch(issue.input, options) : undefined;
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(' or ');
      return `must be ${allowed}${near ? ` — did you mean "${near}"?` : ''}`;
    }
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return undefined;
  }
}

/** A value as the user typed it: JSON text in single quotes (as on a shell line), the rest as JSON, cut when long. */
function shown(value: unknown): string {
  const text =
    typeof value === 'string' && value.includes('"') && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

const listed = (names: readonly string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : (names[0] ?? '');

/**
 * One line per config key: the key, the value given, what is wrong (every problem inside a structured value at once:
 * "missing audio, transcription and metadata") and the fix (the expected shape, or the accepted booleans).
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], known: Record<string, unknown>): string[] {
  const byKey = new Map<string, z.core.$ZodIssue[]>();
  for (const issue of issues) {
    const top = String(issue.path[0] ?? '');
    byKey.set(top, [...(byKey.get(top) ?? []), issue]);
  }
  return [...byKey].map(([top, group]) => {
    const inner = (issue: z.core.$ZodIssue) => issue.path.slice(1).map(String).join('.');
    const missing = group.filter((i) => i.message === MISSING && i.path.length > 1).map(inner);
    const others = group.filter((i) => !(i.message === MISSING && i.path.length > 1));
    const single = others.length === 1 && missing.length === 0 ? others[0] : undefined;
    // A single problem keeps its full path (corsAllowOrigins.0); several are told apart inside the line.
    const label = single ? single.path.map(String).join('.') : top;
    const what = [
      ...(missing.length ? [`missing ${listed(missing)}`] : []),
      ...others.map((i) => (single || i.path.length <= 1 ? i.message : `${inner(i)} ${i.message}`)),
    ].join('; ');
    const fix =
      STRUCTURED_EXAMPLES[top] !== undefined
        ? `; ${STRUCTURED_EXAMPLES[top]}`
        : group.some((i) => i.message === BOOLEAN_MESSAGE)
          ? ` (-c ${top}=true or -c ${top}=false)`
          : '';
    const given = top in known ? ` (given: ${shown(known[top])})` : '';
    return `${label}${given}: ${what}${fix}`;
  });
}

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
  // zod's own wording ("Invalid input: expected number, received undefined") only where a schema has none of ours.
  const result = configSchema.safeParse(known, { error: projectVoice });
  if (!result.success) problems.push(...describeIssues(result.error.issues, known));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const config = result.data;
  return { ...config, apiType: resolveApiType(config), priceTable: { ...DEFAULT_PRICES, ...config.prices } };
}
