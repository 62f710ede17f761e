import { readActiveModel, type ActiveModel, type ActiveModelRead } from '../core/active-model';
import { TEACHER_ANSWER_FORMAT } from '../core/prompts';
import { teacherPrompt } from '../core/teacher-prompt';
import { studentFormat, UnknownPromptVersion, type AnswerFormat } from '../core/student-format';
import { DEFAULT_MODEL, type Source } from './contract';

/**
 * One model the router may ask: the system prompt it must be sent, how its reply is read, and its output budget when
 * its format bounds it (else the router's configured `maxTokens`).
 */
export interface ModelStep {
  readonly modelId: string;
  readonly system: string;
  readonly format: AnswerFormat;
  readonly maxTokens?: number;
  readonly source: Extract<Source, 'student' | 'fallback-model'>;
}

/**
 * What the router does for the current active-model value: the models to ask in order (none: answer with the default
 * weights), and the key that ties cached answers to it (a new promotion makes older answers stale).
 */
export interface RoutingPlan {
  readonly steps: readonly ModelStep[];
  readonly key: string;
  /** During a canary only (absent otherwise, so a plain plan costs nothing extra per query). */
  readonly canary?: CanaryPlan;
}

/** The candidate's side of a canary: the value (for variantOf) and the plan its share of queries follows. */
export interface CanaryPlan {
  readonly model: ActiveModel;
  /** The candidate's steps and cache key; the incumbent's when `refused` (its prompt version is not the router's). */
  readonly steps: readonly ModelStep[];
  readonly key: string;
  /** Why the router cannot serve the candidate: its queries are answered by the incumbent, and counted. */
  readonly refused?: string;
}

/** Reads the parameter's text; undefined when the parameter does not exist. Throws what the SDK threw. */
export type ParameterReader = () => Promise<string | undefined>;

/** How soon a failed read is retried: `initialMs` after the first failure, doubling with each further one to `maxMs`. */
export interface ReadRetry {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The first retry after a failed read of the active-model parameter. */
export const READ_RETRY_INITIAL_MS = 1_000;
/**
 * The longest wait between retries of a failing read. It bounds how long a recovered SSM goes unnoticed, and keeps a
 * persistent failure visible in every 5-minute period of `ActiveModelReadErrors` (the alarm needs consecutive ones).
 */
export const READ_RETRY_MAX_MS = 60_000;

/** The retry schedule for a parameter cached `ttlSeconds`: from 1 s up to the TTL, but never beyond a minute. */
export function readRetryFor(ttlSeconds: number): ReadRetry {
  return {
    initialMs: READ_RETRY_INITIAL_MS,
    maxMs: Math.min(READ_RETRY_MAX_MS, Math.max(READ_RETRY_INITIAL_MS, ttlSeconds * 1000)),
  };
}

export interface ActiveTargetOptions {
  readonly read: ParameterReader;
  readonly parameterName: string;
  readonly fallbackModelId?: string;
  /** When a failed read is retried (successful reads are cached by the reader for the parameter TTL). */
  readonly retry: ReadRetry;
  /** Called once per failed read, whether a last good value could be served or not. */
  readonly onReadError: () => void;
  /** Logs a warning the first time `key` is seen in this container, and never again. */
  readonly warnOnce: (key: string, message: string, details?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

/**
 * Plans each request from the active-model parameter, degrading to the fallback model or the default weights.
 *
 * - Stale-while-error: when a read fails after a successful one, the plan of the last value read keeps being served
 *   (a transient SSM fault must not drop a promoted student to the fallback); with no value ever read (a cold
 *   container), the fallback plan is served. Either way the failure is counted (onReadError) and the read is retried
 *   after a backoff (ReadRetry), not after the whole parameter TTL.
 * - Single-flight: concurrent requests share one read (a burst on a cold container makes one GetParameter call).
 *
 * Powertools Parameters caches successful reads for the TTL but neither serves an expired value when the refresh
 * fails nor shares an in-flight read (BaseProvider.get in @aws-lambda-powertools/parameters 2.x), hence both here.
 */
export class ActiveTarget {
  private readonly now: () => number;
  private lastValue: string | undefined | null = null;
  /** The plan for the last value read successfully: what a failed read serves. */
  private lastPlan: RoutingPlan | undefined;
  private failures = 0;
  private retryAt = 0;
  private inFlight: Promise<RoutingPlan> | undefined;
  private readonly fallbackPlan: RoutingPlan;
  private readonly fallbackStep?: ModelStep;

  constructor(private readonly options: ActiveTargetOptions) {
    this.now = options.now ?? (() => Date.now());
    if (options.fallbackModelId) {
      this.fallbackStep = {
        modelId: options.fallbackModelId,
        system: teacherPrompt(),
        format: TEACHER_ANSWER_FORMAT,
        source: 'fallback-model',
      };
    }
    this.fallbackPlan = this.fallbackStep
      ? { steps: [this.fallbackStep], key: this.fallbackStep.modelId }
      : { steps: [], key: DEFAULT_MODEL };
  }

  /** The plan for the current parameter value. Never throws: a failed read plans the last good value or the fallback. */
  plan(): Promise<RoutingPlan> {
    if (this.now() < this.retryAt) return Promise.resolve(this.lastPlan ?? this.fallbackPlan);
    if (!this.inFlight) {
      const pending = this.refresh();
      this.inFlight = pending;
      // Cleared once settled (not inside refresh: a reader that throws synchronously would settle it before this).
      void pending.then(() => {
        if (this.inFlight === pending) this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async refresh(): Promise<RoutingPlan> {
    let value: string | undefined;
    try {
      value = await this.options.read();
    } catch (error) {
      return this.failed(error);
    }
    this.failures = 0;
    if (value === this.lastValue && this.lastPlan) return this.lastPlan;
    this.lastValue = value;
    this.lastPlan = this.planFor(readActiveModel(value), value);
    return this.lastPlan;
  }

  private failed(error: unknown): RoutingPlan {
    this.failures += 1;
    const { initialMs, maxMs } = this.options.retry;
    const backoffMs = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures - 1, 30));
    this.retryAt = this.now() + backoffMs;
    this.options.onReadError();
    const cause = rootCause(error);
    const stale = this.lastPlan !== undefined;
    const serving = this.lastPlan ?? this.fallbackPlan;
    this.options.warnOnce(
      `parameter:${cause.name}:${stale ? 'stale' : 'cold'}`,
      `cannot read the active-model parameter ${this.options.parameterName} (${cause.name}): ` +
        `${stale ? 'still serving the last value read' : 'nothing read yet, serving'} ${serving.key}; ` +
        `retrying after ${backoffMs} ms, then with a backoff up to ${maxMs} ms`,
      { error: cause.message },
    );
    return serving;
  }

  private planFor(read: ActiveModelRead, value: string | undefined): RoutingPlan {
    if (read.state === 'invalid') return this.invalid(value, read.reason);
    if (read.state !== 'promoted') return this.fallbackPlan;
    let incumbent: RoutingPlan;
    try {
      incumbent = this.studentPlan(read.model.deploymentArn, read.model.studentPromptVersion);
    } catch (error) {
      if (!(error instanceof UnknownPromptVersion)) throw error;
      return this.invalid(value, `studentPromptVersion: ${error.message}`);
    }
    const { canary } = read.model;
    if (!canary) return incumbent;
    try {
      const candidate = this.studentPlan(canary.deploymentArn, canary.studentPromptVersion);
      return { ...incumbent, canary: { model: read.model, steps: candidate.steps, key: candidate.key } };
    } catch (error) {
      if (!(error instanceof UnknownPromptVersion)) throw error;
      const refused =
        `canary.studentPromptVersion: ${error.message}; the incumbent answers the candidate's share: roll the ` +
        'canary back (npm run pipeline -- rollback) or deploy the router that knows the candidate';
      this.options.warnOnce(`canary-prompt:${canary.deploymentArn}:${canary.studentPromptVersion}`, refused);
      return { ...incumbent, canary: { model: read.model, steps: incumbent.steps, key: incumbent.key, refused } };
    }
  }

  /**
   * A deployment asked in the format of the prompt version it was trained with, then the fallback model if any; keyed
   * (cache) by the deployment. Throws UnknownPromptVersion for a version this release does not know.
   */
  private studentPlan(deploymentArn: string, promptVersion: string): RoutingPlan {
    const format = studentFormat(promptVersion);
    const student: ModelStep = {
      modelId: deploymentArn,
      system: format.prompt,
      format,
      ...(format.maxTokens !== undefined ? { maxTokens: format.maxTokens } : {}),
      source: 'student',
    };
    return { steps: this.fallbackStep ? [student, this.fallbackStep] : [student], key: student.modelId };
  }

  private invalid(value: string | undefined, reason: string): RoutingPlan {
    this.options.warnOnce(
      `invalid:${value ?? ''}`,
      `the active-model parameter ${this.options.parameterName} holds an invalid value (${reason}): serving ${this.fallbackPlan.key}`,
    );
    return this.fallbackPlan;
  }
}

/** Powertools wraps SDK errors (GetParameterError with the SDK error as `cause`): report the SDK's. */
function rootCause(error: unknown): Error {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current : new Error(String(current));
}
