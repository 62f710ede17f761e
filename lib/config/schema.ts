import { z } from 'zod';
import { DEFAULT_TEACHER_MODEL_ID } from '../../lambda/core/model-ids';
import { candidatesField } from './candidates';
import { DEFAULT_REDACTED_PII_TYPES, PII_ENTITY_TYPES } from '../../lambda/core/redaction';
import {
  API_TYPES,
  bool,
  intIn,
  json,
  labelBatchSize,
  LOG_RETENTION_DAYS,
  modelId,
  numberIn,
  optionalText,
  priceSchema,
  weightsSchema,
} from './fields';

/**
 * Every key of the app's configuration, with its type, range and default, one by one (the rules between keys are in
 * ./rules.ts).
 */
export const configFields = z.strictObject({
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

  // --- candidates ---
  /**
   * The students a run trains side by side, in order (docs/candidates.md). Unset: `ft-micro` (fine-tuning Nova Micro,
   * student-v3) and `distill-micro` (distillation of studentModelId, student-v2), minus what the Region cannot train.
   */
  candidates: optionalText(candidatesField),
  /**
   * Candidates trained, deployed and evaluated at once (the Candidates map's MaxConcurrency). Each one holds a
   * customization job and an on-demand deployment while it runs: keep it within the account's quotas for both.
   */
  candidateConcurrency: intIn(1, 10).default(2),

  // --- learning from production ---
  /** Share of a run's production records held out (stratified by modality) as production's own test set. */
  productionHoldOutShare: numberIn(0, 0.5).default(0.1),
  /**
   * Gate: the non-inferiority margin of the paired comparison of judge scores with the incumbent (a paired bootstrap
   * of the per-prompt score differences): the largest drop in mean judge score (1–5) that still counts as "not worse".
   */
  maxJudgeDropToIncumbent: numberIn(0, 4).default(0.1),
  /**
   * Gate: the non-inferiority margin of the paired comparison of dominant agreement with the incumbent (McNemar on the
   * same held-out queries, lambda/core/paired-stats.ts): the largest drop that still counts as "not worse".
   */
  maxAgreementDropToIncumbent: numberIn(0, 1).default(0.03),
  /**
   * Gate: the non-inferiority margin of the paired comparison of weight error with the incumbent (a paired bootstrap of
   * the per-query mean absolute error against the teacher's label): the largest rise that still counts as "not worse".
   * 0.02 is below the 0.03 by which batched teacher labels may differ from single ones (calibrationMaxWeightError).
   */
  maxWeightErrorRiseToIncumbent: numberIn(0, 1).default(0.02),
  /** Gate: the one-sided confidence of the paired comparisons of candidate and incumbent. */
  gateConfidence: numberIn(0.8, 0.999).default(0.95),
  /** Gate: what a comparison too close to call on the held-out queries does: keep the incumbent, or promote anyway. */
  inconclusiveGate: z.enum(['keepIncumbent', 'promote']).default('keepIncumbent'),

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
  /** Jensen–Shannon divergence (0-1) of live dominant modalities vs. the live mix at training that raises the drift alarm. */
  driftThreshold: numberIn(0, 1).default(0.1),
  /** Days production records are kept under production/records/ of the dataset bucket. */
  productionDataRetentionDays: intIn(1, 3650).default(180),
  /** Shadow labeller invocations in flight (SQS event source maxConcurrency, 2-1,000). */
  labellerConcurrency: intIn(2, 1000).default(2),
  /** Messages per labeller invocation (each holds 1-25 samples). */
  labellerBatchSize: intIn(1, 100).default(10),
  /** Queries per shadow teacher call: `auto` = the promoted run's calibrated labelBatchSize, or 1-25. */
  shadowLabelBatchSize: labelBatchSize.default('auto'),
  /**
   * PII types the shadow labeller masks in each sampled query before the teacher sees it or a record stores it (a
   * Bedrock guardrail's sensitive-information filter, lambda/shadow/redaction.ts): comma-separated, or `none` to turn
   * redaction off. Default: contact, financial, identity, credential and device types, not NAME, USERNAME, URL, AGE.
   */
  redactPiiTypes: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v.trim() === 'none'
            ? []
            : v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
          : v,
      z.array(
        z.enum(PII_ENTITY_TYPES, {
          error: (issue) =>
            `"${String(issue.input)}" is not a guardrail PII type: use ${PII_ENTITY_TYPES.join(', ')}, or none`,
        }),
      ),
    )
    .default([...DEFAULT_REDACTED_PII_TYPES]),

  // --- canary ---
  /** Share of live traffic (by query) a gated candidate answers before full promotion; 0 promotes at once. */
  canaryShare: numberIn(0, 0.5).default(0.1),
  /** How long the candidate's alarms must stay quiet before it is promoted. */
  canaryMinutes: intIn(5, 1440).default(60),
  /** Wait between two reads of the canary's alarms. */
  canaryCheckMinutes: intIn(1, 60).default(5),
  /**
   * Silence is not health: candidate queries (the router's Queries, Variant=candidate) the canary must have seen before
   * it may be promoted; without them the window is extended up to canaryMaxMinutes.
   */
  canaryMinQueries: intIn(0, 10_000_000).default(300),
  /** Longest a canary may run waiting for canaryMinQueries and canaryShadowMinSamples (never less than canaryMinutes). */
  canaryMaxMinutes: intIn(5, 2880).default(180),
  /** A canary that ends at canaryMaxMinutes without enough traffic: keep the incumbent, or promote the candidate. */
  canaryInconclusive: z.enum(['keepIncumbent', 'promote']).default('keepIncumbent'),
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
});
