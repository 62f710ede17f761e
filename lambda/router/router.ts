import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { variantOf, type Variant } from '../core/active-model';
import { dominantModality, type Weights } from '../core/modality';
import { queryBucket, SHADOW_VARIANT_DIMENSION } from '../core/shadow';
import type { ActiveTarget, ModelStep, RoutingPlan } from './active-target';
import { normaliseQuery } from '../core/query-key';
import { AnswerCache } from './cache';
import { DEFAULT_MODEL, type RouteResult, type Source } from './contract';
import { askModel, type ModelFailure } from './model-call';

/** Metric names (namespace and service dimension come from the function's Powertools environment). */
export const METRIC = {
  queries: 'Queries',
  latency: 'Latency',
  fallbacks: 'Fallbacks',
  cacheHits: 'CacheHits',
  invalidReplies: 'InvalidReplies',
  timeouts: 'ModelTimeouts',
  throttles: 'ModelThrottles',
  modelErrors: 'ModelErrors',
  accessErrors: 'ModelAccessErrors',
  inputTokens: 'InputTokens',
  outputTokens: 'OutputTokens',
  clientErrors: 'ClientErrors',
  /** A failed read of the active-model parameter (the last good value, or the fallback, was served meanwhile). */
  activeModelReadErrors: 'ActiveModelReadErrors',
  /** Sampled requests handed to the shadow labeller's queue (shadowSampleRate). */
  shadowHandoffs: 'ShadowHandoffs',
  /** Hand-offs that failed or did not finish within SHADOW_HANDOFF_TIMEOUT_MS: counted, never seen by the caller. */
  shadowHandoffFailures: 'ShadowHandoffFailures',
  /**
   * A query of the candidate's share answered by the incumbent because the router cannot serve the candidate (its
   * student prompt version is unknown to the router). Counted with Variant=candidate; the canary's fallback alarm adds it.
   */
  canaryRefused: 'CanaryRefused',
} as const;

/**
 * The dimension that tells the variants apart during a canary. Per-query metrics are published a second time under
 * {service, Variant} (in addition to the service-only set the existing alarms and dashboards read), only while the
 * active-model value holds a canary.
 */
export const VARIANT_DIMENSION = SHADOW_VARIANT_DIMENSION;
/** Latency by who answered: one metric name per source keeps each request to one EMF record (no extra dimension set). */
export const LATENCY_BY_SOURCE = {
  student: 'StudentLatency',
  'fallback-model': 'FallbackModelLatency',
  default: 'DefaultLatency',
  cache: 'CacheLatency',
} as const satisfies Record<Source, string>;

export type MetricName = (typeof METRIC)[keyof typeof METRIC] | (typeof LATENCY_BY_SOURCE)[Source];

/** Where the router reports what happened; implemented with Powertools in the handler, with spies in tests. */
export interface RouterTelemetry {
  /** Counts `name`; with a variant (during a canary) also under the Variant dimension. */
  count(name: MetricName, value?: number, variant?: Variant): void;
  /**
   * Time spent on one query: recorded overall (`Latency`) and by who answered (LATENCY_BY_SOURCE); with a variant
   * (during a canary) also under the Variant dimension.
   */
  latency(source: Source, ms: number, variant?: Variant): void;
  /** A warning logged once per container for `key` (configuration faults would otherwise flood the logs). */
  warnOnce(key: string, message: string, details?: Record<string, unknown>): void;
  /** A per-call problem worth a debug line (invalid reply, throttle…). */
  debug(message: string, details: Record<string, unknown>): void;
}

/** A model call is not started with less time than this left: it could not answer in time. */
export const MIN_CALL_MS = 50;

/**
 * The share of the remaining budget a model gets when another model of the plan can still answer after it (the
 * student, when a fallback model is configured). Given the whole budget, a student that hangs would end in the static
 * default weights even though a fallback model is there; capped, it leaves the rest (40 %) for the fallback model.
 * 60 % of the default 1,500 ms budget is 900 ms, above the case study's student mean (833 ms), and 600 ms is left for
 * the fallback model. The last model of the plan gets all that is left; a student that fails fast (throttled,
 * unusable reply) leaves more than 40 %.
 */
export const BUDGET_SHARE_BEFORE_FALLBACK = 0.6;

export interface RouterOptions {
  readonly bedrock: BedrockRuntimeClient;
  readonly target: ActiveTarget;
  readonly cache: AnswerCache;
  readonly telemetry: RouterTelemetry;
  readonly latencyBudgetMs: number;
  readonly defaultWeights: Weights;
  readonly maxTokens: number;
  readonly now?: () => number;
}

const FAILURE_METRIC: Record<Exclude<ModelFailure, 'access'>, MetricName> = {
  timeout: METRIC.timeouts,
  throttled: METRIC.throttles,
  'invalid-reply': METRIC.invalidReplies,
  error: METRIC.modelErrors,
};

/** A request's answers, in order; `variants` (same order) only during a canary: who each query was routed to. */
export interface RoutedBatch {
  readonly results: RouteResult[];
  readonly variants?: readonly Variant[];
  /**
   * Same order: the prompt version each answer was asked with (`none` for the default weights). Not part of the API
   * reply: the shadow samples carry it.
   */
  readonly promptVersions: readonly string[];
}

/** The prompt version of the default weights: no model was asked. */
export const NO_PROMPT = 'none';

/** One answer and the prompt version it was asked with. */
interface Answered {
  readonly result: RouteResult;
  readonly promptVersion: string;
}

/** What one query follows: the plan's steps and cache target, or the candidate's during a canary. */
interface QueryRoute {
  readonly steps: readonly ModelStep[];
  readonly target: string;
  readonly variant?: Variant;
  readonly refused: boolean;
}

/**
 * Routes queries under the latency budget: cache, then the plan's models in order (student, fallback model), then
 * the static default weights. A model followed by another gets BUDGET_SHARE_BEFORE_FALLBACK of what is left, the last
 * one the rest. Never throws and never exceeds the budget by more than a timer's slack.
 */
export class Router {
  private readonly now: () => number;
  private readonly defaultAnswer: Omit<RouteResult, 'latencyMs'>;

  constructor(private readonly options: RouterOptions) {
    this.now = options.now ?? (() => performance.now());
    this.defaultAnswer = {
      weights: options.defaultWeights,
      dominant: dominantModality(options.defaultWeights),
      model: DEFAULT_MODEL,
      source: 'default',
    };
  }

  /**
   * Answers every query, in order; identical queries (after normalising) share one model call. During a canary each
   * query goes to `variantOf(model, queryBucket(normalised query))`: the same query always to the same variant.
   */
  async route(queries: readonly string[], startedAt = this.now()): Promise<RoutedBatch> {
    const deadline = startedAt + this.options.latencyBudgetMs;
    const plan = await this.options.target.plan();
    const inFlight = new Map<string, Promise<Answered>>();
    const variants: Variant[] | undefined = plan.canary ? [] : undefined;
    const answers = queries.map((query) => {
      const key = normaliseQuery(query);
      const route = routeOf(plan, key);
      if (route.variant) variants?.push(route.variant);
      let answer = inFlight.get(key);
      if (!answer) {
        answer = this.routeOne(query, key, route, startedAt, deadline);
        inFlight.set(key, answer);
      }
      return answer;
    });
    const answered = await Promise.all(answers);
    const results = answered.map((a) => a.result);
    const promptVersions = answered.map((a) => a.promptVersion);
    return variants ? { results, variants, promptVersions } : { results, promptVersions };
  }

  private async routeOne(
    query: string,
    key: string,
    { steps, target, variant, refused }: QueryRoute,
    startedAt: number,
    deadline: number,
  ): Promise<Answered> {
    const { telemetry, cache } = this.options;
    telemetry.count(METRIC.queries, 1, variant);
    if (refused) telemetry.count(METRIC.canaryRefused, 1, variant);
    // One entry per query, valid only for the deployment that answered it (`target`): a query keeps its variant
    // while the share stands, and a promotion, a rollback or a new share makes another deployment's answer a miss.
    const cached = cache.get(key, target);
    if (cached) {
      telemetry.count(METRIC.cacheHits, 1, variant);
      const { weights, dominant, model, promptVersion } = cached;
      return this.finish({ weights, dominant, model, source: 'cache' }, startedAt, variant, promptVersion);
    }
    for (const [index, step] of steps.entries()) {
      const remaining = deadline - this.now();
      if (remaining < MIN_CALL_MS) break;
      const outcome = await askModel(
        this.options.bedrock,
        {
          modelId: step.modelId,
          system: step.system,
          query,
          // A format that bounds its answers bounds the call: a rambling student cannot spend the configured budget.
          maxTokens: step.maxTokens ?? this.options.maxTokens,
          format: step.format,
        },
        index < steps.length - 1 ? timeBeforeFallback(remaining) : remaining,
      );
      if (outcome.usage) {
        telemetry.count(METRIC.inputTokens, outcome.usage.inputTokens, variant);
        telemetry.count(METRIC.outputTokens, outcome.usage.outputTokens, variant);
      }
      if (outcome.ok) {
        const answer = { weights: outcome.weights, dominant: outcome.dominant, model: step.modelId };
        const { promptVersion } = step.format;
        cache.set(key, { ...answer, target, promptVersion });
        if (step !== steps[0]) telemetry.count(METRIC.fallbacks, 1, variant);
        return this.finish({ ...answer, source: step.source }, startedAt, variant, promptVersion);
      }
      if (outcome.failure === 'access') {
        // A configuration fault (no model access, deployment deleted, key denied): retrying this model cannot fix it,
        // so it is alarmed and logged once per container; the next model (if any) may still answer, else the default.
        telemetry.count(METRIC.accessErrors, 1, variant);
        telemetry.warnOnce(
          `access:${step.modelId}:${outcome.detail.split(':')[0]}`,
          `cannot invoke ${step.modelId}: ${outcome.detail}. Falling back; check the model access and the router's IAM policy`,
        );
        continue;
      }
      telemetry.count(FAILURE_METRIC[outcome.failure], 1, variant);
      telemetry.debug(`${step.source} failed (${outcome.failure}), falling back`, {
        modelId: step.modelId,
        ...(variant ? { variant } : {}),
        failure: outcome.failure,
        detail: outcome.detail,
        ...(outcome.replyError ? { replyError: outcome.replyError } : {}),
      });
    }
    if (steps.length > 0) telemetry.count(METRIC.fallbacks, 1, variant);
    return this.finish(this.defaultAnswer, startedAt, variant, NO_PROMPT);
  }

  private finish(
    answer: Omit<RouteResult, 'latencyMs'>,
    startedAt: number,
    variant: Variant | undefined,
    promptVersion: string,
  ): Answered {
    const latencyMs = Math.max(0, Math.round(this.now() - startedAt));
    this.options.telemetry.latency(answer.source, latencyMs, variant);
    return { result: { ...answer, latencyMs }, promptVersion };
  }
}

/** Who answers a query: the plan as it is, or during a canary the variant of its bucket (hashed only then). */
function routeOf(plan: RoutingPlan, key: string): QueryRoute {
  const { canary } = plan;
  if (!canary) return { steps: plan.steps, target: plan.key, refused: false };
  const variant = variantOf(canary.model, queryBucket(key));
  return variant === 'candidate'
    ? { steps: canary.steps, target: canary.key, variant, refused: canary.refused !== undefined }
    : { steps: plan.steps, target: plan.key, variant, refused: false };
}

/** How long a model may take when another one should still be asked after it: a share, leaving the next one a call. */
export function timeBeforeFallback(remainingMs: number): number {
  return Math.max(
    MIN_CALL_MS,
    Math.min(Math.floor(remainingMs * BUDGET_SHARE_BEFORE_FALLBACK), remainingMs - MIN_CALL_MS),
  );
}
