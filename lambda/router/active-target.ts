import { readActiveModel, type ActiveModelRead } from '../shared/active-model';
import { STUDENT_PROMPT, STUDENT_PROMPT_VERSION, teacherPrompt } from '../shared/prompts';
import { DEFAULT_MODEL, type Source } from './contract';

/** One model the router may ask, with the system prompt it must be sent. */
export interface ModelStep {
  readonly modelId: string;
  readonly system: string;
  readonly source: Extract<Source, 'student' | 'fallback-model'>;
}

/**
 * What the router does for the current active-model value: the models to ask in order (none: answer with the default
 * weights), and the key that ties cached answers to it (a new promotion makes older answers stale).
 */
export interface RoutingPlan {
  readonly steps: readonly ModelStep[];
  readonly key: string;
}

/** Reads the parameter's text; undefined when the parameter does not exist. Throws what the SDK threw. */
export type ParameterReader = () => Promise<string | undefined>;

export interface ActiveTargetOptions {
  readonly read: ParameterReader;
  readonly parameterName: string;
  readonly fallbackModelId?: string;
  /** How long a failed read is remembered before SSM is asked again (successful reads are cached by the reader). */
  readonly retryAfterMs: number;
  /** Logs a warning the first time `key` is seen in this container, and never again. */
  readonly warnOnce: (key: string, message: string, details?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

/** Plans each request from the active-model parameter, degrading to the fallback model or the default weights. */
export class ActiveTarget {
  private readonly now: () => number;
  private lastValue: string | undefined | null = null;
  private lastPlan: RoutingPlan | undefined;
  private failedUntil = 0;
  private readonly fallbackPlan: RoutingPlan;
  private readonly fallbackStep?: ModelStep;

  constructor(private readonly options: ActiveTargetOptions) {
    this.now = options.now ?? Date.now;
    if (options.fallbackModelId) {
      this.fallbackStep = { modelId: options.fallbackModelId, system: teacherPrompt(), source: 'fallback-model' };
    }
    this.fallbackPlan = this.fallbackStep
      ? { steps: [this.fallbackStep], key: this.fallbackStep.modelId }
      : { steps: [], key: DEFAULT_MODEL };
  }

  /** The plan for the current parameter value. Never throws: a failed read plans the fallback. */
  async plan(): Promise<RoutingPlan> {
    if (this.now() < this.failedUntil) return this.fallbackPlan;
    let value: string | undefined;
    try {
      value = await this.options.read();
    } catch (error) {
      // Remember the failure for a while so a missing parameter or a denied read does not cost an SSM call per request.
      this.failedUntil = this.now() + this.options.retryAfterMs;
      const cause = rootCause(error);
      this.options.warnOnce(
        `parameter:${cause.name}`,
        `cannot read the active-model parameter ${this.options.parameterName} (${cause.name}): serving ${this.fallbackPlan.key}`,
        { error: cause.message },
      );
      return this.fallbackPlan;
    }
    if (value === this.lastValue && this.lastPlan) return this.lastPlan;
    this.lastValue = value;
    this.lastPlan = this.planFor(readActiveModel(value), value);
    return this.lastPlan;
  }

  private planFor(read: ActiveModelRead, value: string | undefined): RoutingPlan {
    if (read.state === 'promoted' && read.model.studentPromptVersion !== STUDENT_PROMPT_VERSION) {
      return this.invalid(
        value,
        `studentPromptVersion ${JSON.stringify(read.model.studentPromptVersion)} is not the router's ${STUDENT_PROMPT_VERSION}: redeploy the router that matches the promoted model`,
      );
    }
    if (read.state === 'promoted') {
      const student: ModelStep = { modelId: read.model.deploymentArn, system: STUDENT_PROMPT, source: 'student' };
      return { steps: this.fallbackStep ? [student, this.fallbackStep] : [student], key: student.modelId };
    }
    if (read.state === 'invalid') return this.invalid(value, read.reason);
    return this.fallbackPlan;
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
