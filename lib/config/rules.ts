import type { z } from 'zod';
import { DEPLOYMENT_REGIONS, parseModelId } from '../../lambda/core/model-ids';
import { DEFAULT_PRICES } from '../../lambda/core/prices';
import { runSizeProblem } from '../../lambda/pipeline/generation/query-plan';
import type { CandidateSpec } from '../../lambda/core/candidates';
import { candidateRuleProblems, resolveCandidates, type LeftOutCandidate } from './candidates';
import type { ApiType } from './fields';
import { configFields } from './schema';

/**
 * The whole config schema: the keys (./schema.ts) and the rules between them, then what the parsed config resolves to
 * (an unset apiType, the candidates, the price table).
 */
export const configSchema = configFields
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
  // Candidates with the other keys: studentModelId as their base model, the Region's training support.
  .superRefine(
    (c, ctx) => {
      for (const { key, message } of candidateRuleProblems(c)) ctx.addIssue({ code: 'custom', path: [key], message });
    },
    { when: (payload) => payload.issues.length === 0 },
  )
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

/** The API kind an unset `apiType` resolves to: REST only where API keys need it. */
export const resolveApiType = (c: { apiType?: ApiType | undefined; apiAuth: 'iam' | 'apiKey' }): ApiType =>
  c.apiType ?? (c.apiAuth === 'apiKey' ? 'rest' : 'http');

export type AppConfig = Omit<z.output<typeof configSchema>, 'apiType' | 'candidates'> & {
  /** `apiType` resolved (resolveApiType): never unset. */
  readonly apiType: ApiType;
  /** The run's candidates in order: the configured list (base model filled in), or the default two. */
  readonly candidates: readonly CandidateSpec[];
  /** Default candidates this Region cannot train, left out (and why): what synth should say. */
  readonly candidatesLeftOut: readonly LeftOutCandidate[];
  /** The built-in price table with the `prices` overrides applied. */
  readonly priceTable: Readonly<Record<string, { inputPer1M: number; outputPer1M: number }>>;
};
export type ConfigInput = z.input<typeof configSchema>;

/** The config as the app uses it, from a parse of configSchema: apiType resolved, prices merged over the built-in table. */
export const resolveConfig = (config: z.output<typeof configSchema>): AppConfig => {
  const { candidates, leftOut } = resolveCandidates(config);
  return {
    ...config,
    apiType: resolveApiType(config),
    candidates,
    candidatesLeftOut: leftOut,
    priceTable: { ...DEFAULT_PRICES, ...config.prices },
  };
};
