import * as z from 'zod';
import { lambdaHandler, logger, parseInput, passthrough } from '../../core/runtime';
import { SELECT_CANDIDATE_ENVIRONMENT } from './environment';
import { selectCandidate, type CandidateFigures, type Selection } from './selection';

/**
 * One candidate's outcome, as the Candidates map leaves it (every object passes through whole: the chosen outcome is
 * what the rollout and the report read) (lib/constructs/pipeline/stages/candidates.ts): evaluated
 * and gated, or dropped at a step with its error (and its deployment, when it got that far).
 */
const candidate = z.object({ name: z.string().min(1) }).passthrough();
const evaluated = z.object({
  candidate,
  training: passthrough<Record<string, unknown>>(),
  deployment: z.object({ deploymentArn: z.string().min(1) }).passthrough(),
  evaluation: z
    .object({
      student: z
        .object({
          queries: z.number().int().min(0),
          dominantAgreement: z.number(),
          latencyMs: z.object({ p50: z.number() }).passthrough(),
          costPer1kQueriesUsd: z.number().nullable(),
        })
        .passthrough(),
    })
    .passthrough(),
  evaluationStatus: z
    .object({
      judge: z
        .object({
          student: z
            .object({ mean: z.number(), scored: z.number(), histogram: z.array(z.number()).optional() })
            .passthrough(),
        })
        .passthrough(),
    })
    .passthrough(),
  gate: z.object({ passed: z.boolean(), verdict: z.string(), summary: z.string() }).passthrough(),
});
const dropped = z.object({
  candidate,
  failure: z.object({ step: z.string(), error: z.string(), cause: z.string() }),
  deployment: z
    .object({ deploymentArn: z.string().min(1) })
    .passthrough()
    .optional(),
});

export const selectCandidateInput = z.object({ candidates: z.array(z.union([evaluated, dropped])).min(1) });
type Evaluated = z.output<typeof evaluated>;
/** What the selection reads of an evaluated candidate's outcome. */
export interface EvaluatedOutcome {
  readonly candidate: { readonly name: string };
  readonly evaluation: {
    readonly student: {
      readonly queries: number;
      readonly dominantAgreement: number;
      readonly latencyMs: { readonly p50: number };
      readonly costPer1kQueriesUsd: number | null;
    };
  };
  readonly evaluationStatus: { readonly judge: { readonly student: CandidateFigures['judge'] } };
  readonly gate: { readonly passed: boolean; readonly verdict: string };
}
type Dropped = z.output<typeof dropped>;

export interface SelectCandidateResult extends Selection {
  /** Whether the winner goes on to the rollout (a candidate passed its gate). */
  readonly promote: boolean;
  /**
   * Every candidate failed before its gate: the run fails (with `reason` naming each cause) once the deployments
   * some of them left are deleted.
   */
  readonly noCandidateLeft: boolean;
  /**
   * The winner's outcome, or the best evaluated candidate's when none passed (what the rollout and the report read at
   * `$.selection.chosen`); absent when no candidate is left.
   */
  readonly chosen?: Evaluated;
  readonly dropped: readonly {
    readonly name: string;
    readonly step: string;
    readonly error: string;
    readonly cause: string;
  }[];
  /** Deployments of the candidates not chosen: deleted once the selection is made (their models are kept). */
  readonly runnersUpDeployments: readonly string[];
}

/** What the selection reads of an evaluated candidate (`order`: its place in the configured list). */
export const figuresOf = (o: EvaluatedOutcome, order: number): CandidateFigures => ({
  name: o.candidate.name,
  order,
  passed: o.gate.passed,
  verdict: o.gate.verdict,
  queries: o.evaluation.student.queries,
  dominantAgreement: o.evaluation.student.dominantAgreement,
  judge: o.evaluationStatus.judge.student,
  costPer1MQueriesUsd:
    o.evaluation.student.costPer1kQueriesUsd === null ? null : o.evaluation.student.costPer1kQueriesUsd * 1000,
  latencyP50Ms: o.evaluation.student.latencyMs.p50,
});

const isDropped = (o: Evaluated | Dropped): o is Dropped => 'failure' in o;

/** Ranks the evaluated candidates (selection.ts), names the winner and the deployments to delete. */
export async function selectCandidateStep(event: unknown): Promise<SelectCandidateResult> {
  const env = SELECT_CANDIDATE_ENVIRONMENT.read(process.env);
  const { candidates } = parseInput(selectCandidateInput, event, 'Select candidate');
  const droppedOnes = candidates.filter(isDropped);
  const evaluatedOnes = candidates.filter((o): o is Evaluated => !isDropped(o));
  const drops = droppedOnes.map((o) => ({ name: o.candidate.name, ...o.failure }));
  if (evaluatedOnes.length === 0) {
    const reason = `every candidate failed before its gate: ${drops.map((d) => `${d.name} at ${d.step}: ${d.error}: ${d.cause}`).join('; ')}`;
    logger.warn('no candidate left', { reason });
    return {
      ranking: [],
      reason,
      promote: false,
      noCandidateLeft: true,
      dropped: drops,
      runnersUpDeployments: droppedOnes.flatMap((o) => (o.deployment ? [o.deployment.deploymentArn] : [])),
    };
  }
  const figures = evaluatedOnes.map((o) => figuresOf(o, candidates.indexOf(o)));
  const selection = selectCandidate(figures, env.gateConfidence);
  const chosenName = selection.ranking[0]?.name;
  const chosen = evaluatedOnes.find((o) => o.candidate.name === chosenName) ?? evaluatedOnes[0];
  if (!chosen) throw new Error('unreachable: an evaluated candidate exists');
  const runnersUpDeployments = candidates
    .filter((o) => o !== chosen)
    .flatMap((o) => (o.deployment ? [o.deployment.deploymentArn] : []))
    .filter((arn) => arn !== chosen.deployment.deploymentArn);
  const result = {
    ...selection,
    promote: selection.winner !== undefined,
    noCandidateLeft: false,
    chosen,
    dropped: drops,
    runnersUpDeployments,
  };
  logger.info('candidate selected', {
    winner: result.winner,
    chosen: chosen.candidate.name,
    reason: result.reason,
    dropped: drops.map((d) => d.name),
  });
  return result;
}

export const handler = /* @__PURE__ */ lambdaHandler(selectCandidateStep);
