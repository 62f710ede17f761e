import { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { evaluationKeys, type JudgeScore } from '../evaluation/evaluation';
import { parseTestSet, type ModelMetrics } from '../evaluation/metrics';
import type { GateResult } from '../gate/gate-rules';
import { EVALUATED_MODELS } from '../../core/job-names';
import { buildReport, chosenCandidate, type RunReport } from './run-report';
import { renderMarkdown, snsSummary } from './report-text';
import { parseAnswers, reportFigures, type HeldOutAnswers, type StoredAnswer } from './report-figures';
import { renderHtml, reportHtmlKey } from './report-html';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../../core/run-store';
import { runKeys } from '../../core/runs';
import type { CanaryCheck } from '../rollout/result';
import type { RankedCandidate } from '../selection/selection';
import type { ReportResult } from './result';
import type { StatusDetailsJson } from '../training/result';
import { lambdaHandler, logger, parseInput, passthrough, tracer } from '../../core/runtime';
import { REPORT_ENVIRONMENT } from './environment';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));

/** A candidate as Preflight resolved it (`$.candidates[i].candidate`). */
const candidateIdentity = z.object({
  name: z.string().min(1),
  method: z.string().min(1),
  baseModelId: z.string().min(1),
  promptVersion: z.string().min(1),
});

/** One outcome of the Candidates map (lib/constructs/pipeline/stages/candidates.ts): evaluated and gated… */
const evaluatedCandidate = z.object({
  candidate: candidateIdentity,
  training: z.object({
    jobArn: z.string().optional(),
    outputModelArn: z.string().optional(),
    reused: z.boolean().optional(),
  }),
  deployment: z.object({ deploymentArn: z.string().min(1) }),
  evaluation: z.object({ student: passthrough<ModelMetrics>() }),
  evaluationStatus: z.object({ judge: z.object({ student: passthrough<JudgeScore>() }) }),
  gate: passthrough<GateResult>(),
});

/** …or dropped at a step, with its deployment when it got that far. */
const droppedCandidate = z.object({
  candidate: candidateIdentity,
  failure: z.object({ step: z.string(), error: z.string(), cause: z.string() }),
  deployment: z.object({ deploymentArn: z.string().min(1) }).optional(),
});

/** What Report reads of Select candidate's result (`$.selection`). */
const selection = z.object({
  winner: z.string().optional(),
  ranking: z.array(passthrough<RankedCandidate>()),
  reason: z.string(),
  promote: z.boolean(),
  chosen: z.object({ candidate: z.object({ name: z.string().min(1) }) }),
});

export const reportInput = z.object({
  runId: z.string().min(1),
  bucket: z.string().min(1),
  assemble: z.object({
    trainKey: z.string(),
    testKey: z.string(),
    manifestKey: z.string(),
    trainCount: z.number(),
    testCount: z.number(),
  }),
  distillation: z.object({
    outputModelArn: z.string(),
    jobArn: z.string().optional(),
    reused: z.boolean().optional(),
    statusDetails: passthrough<StatusDetailsJson>().optional(),
  }),
  deployment: z.object({ deploymentArn: z.string(), deploymentName: z.string().optional(), reused: z.boolean() }),
  evaluation: z.object({ student: passthrough<ModelMetrics>(), baseline: passthrough<ModelMetrics>() }),
  judge: z.object({ student: passthrough<JudgeScore>(), baseline: passthrough<JudgeScore>() }),
  gate: passthrough<GateResult>(),
  promotion: z.object({
    promoted: z.boolean(),
    parameterName: z.string().optional(),
    version: z.number().optional(),
    reason: z.string().optional(),
    canary: passthrough<CanaryCheck>().optional(),
  }),
  // Runs with candidates (absent in runs from before them): every candidate's outcome and the selection.
  candidates: z.array(z.union([droppedCandidate, evaluatedCandidate])).optional(),
  selection: selection.optional(),
});

async function readManifest(store: RunStore, key: string): Promise<Record<string, unknown> | undefined> {
  const text = await store.read(key);
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(text);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/**
 * Each evaluated candidate's answers to the held-out set, by name; a candidate whose answers are missing is left out
 * (its block then shows no confusion matrix).
 */
async function readCandidateAnswers(store: RunStore, report: RunReport): Promise<Record<string, StoredAnswer[]>> {
  const evaluated = (report.candidates ?? []).filter((c) => c.status === 'evaluated');
  const read = await Promise.all(
    evaluated.map(async (c) => {
      const key = evaluationKeys(report.runId, c.name).answers('student');
      const text = await store.read(key);
      if (text === undefined) logger.warn('candidate answers not found: no confusion matrix for it', { key });
      return text === undefined ? [] : [[c.name, parseAnswers(text, key)] as const];
    }),
  );
  return Object.fromEntries(read.flat());
}

/**
 * The held-out set and both models' per-query answers as Evaluate stored them (the chosen candidate's, in its own
 * folder, for a run with candidates), or undefined when one is missing (the HTML report then leaves out the charts
 * that need them rather than failing the run at its last step).
 */
async function readHeldOut(store: RunStore, report: RunReport): Promise<HeldOutAnswers | undefined> {
  const { runId } = report;
  const testKey = report.dataset.testKey;
  const keys = evaluationKeys(runId, chosenCandidate(report)?.name);
  const [testSet, student, baseline] = await Promise.all([
    store.read(testKey),
    store.read(keys.answers('student')),
    store.read(keys.answers('baseline')),
  ]);
  if (testSet === undefined || student === undefined || baseline === undefined) {
    logger.warn('held-out answers not found: the HTML report shows no confusion matrix or latency distribution', {
      testKey,
      answers: EVALUATED_MODELS.map((m) => keys.answers(m)),
    });
    return undefined;
  }
  const candidates = report.candidates ? { candidates: await readCandidateAnswers(store, report) } : {};
  return {
    cases: parseTestSet(testSet, testKey),
    answers: {
      student: parseAnswers(student, keys.answers('student')),
      baseline: parseAnswers(baseline, keys.answers('baseline')),
    },
    ...candidates,
  };
}

/** The HTML report of `final`, with the figures read from the run's files; logs how long the charts took. */
async function renderReportHtml(store: RunStore, final: RunReport): Promise<string> {
  const datasetRunId = typeof final.dataset.manifest?.['runId'] === 'string' ? final.dataset.manifest['runId'] : '';
  // A reused dataset was planned by the run that generated it.
  const planJson = await store.read(runKeys(datasetRunId || final.runId).shardPlan);
  const heldOut = await readHeldOut(store, final);
  const started = performance.now();
  const html = renderHtml(
    reportFigures({ report: final, ...(planJson ? { planJson } : {}), ...(heldOut ? { heldOut } : {}) }),
  );
  logger.info('HTML report rendered', { renderMs: Math.round(performance.now() - started), bytes: html.length });
  return html;
}

/**
 * Writes runs/<runId>/report.json, report.md and report.html (never over an existing report: a retried step keeps the first) and
 * publishes the summary to the notifications topic.
 */
export async function report(event: unknown): Promise<ReportResult> {
  const env = REPORT_ENVIRONMENT.read(process.env);
  const input = parseInput(reportInput, event, 'Report');
  const store = s3RunStore(s3, input.bucket);
  const keys = runKeys(input.runId);
  const built = buildReport({
    runId: input.runId,
    generatedAt: new Date().toISOString(),
    student: { metrics: input.evaluation.student, judge: input.judge.student },
    baseline: { metrics: input.evaluation.baseline, judge: input.judge.baseline },
    judgeModelId: env.judgeModelId,
    gate: input.gate,
    dataset: { ...input.assemble, manifest: await readManifest(store, input.assemble.manifestKey) },
    distillation: {
      modelArn: input.distillation.outputModelArn,
      ...(input.distillation.jobArn ? { jobArn: input.distillation.jobArn } : {}),
      reused: input.distillation.reused ?? false,
      statusDetails: input.distillation.statusDetails,
    },
    deployment: input.deployment,
    promotion: input.promotion,
    ...(input.candidates ? { candidateOutcomes: input.candidates } : {}),
    ...(input.selection ? { selection: input.selection } : {}),
  });

  // Never over an existing report: one written by an earlier attempt stays the report of record.
  const wroteJson = await store.writeOnce(keys.reportJson, JSON.stringify(built, null, 2), 'application/json');
  const final: RunReport = wroteJson
    ? built
    : (JSON.parse(
        await readExisting(store, keys.reportJson, 'it existed when the write was refused: retry the step'),
      ) as RunReport);
  await store.writeOnce(keys.reportMarkdown, renderMarkdown(final), 'text/markdown');
  const htmlKey = reportHtmlKey(input.runId);
  await store.writeOnce(htmlKey, await renderReportHtml(store, final), 'text/html; charset=utf-8');

  const { subject, message } = snsSummary(
    final,
    s3Uri(input.bucket, keys.reportMarkdown),
    s3Uri(input.bucket, htmlKey),
  );
  await sns.send(new PublishCommand({ TopicArn: env.topicArn, Subject: subject, Message: message }));
  logger.info('run reported', { outcome: final.outcome, key: keys.reportJson, reusedEarlierReport: !wroteJson });
  return {
    outcome: final.outcome,
    reportJsonKey: keys.reportJson,
    reportMarkdownKey: keys.reportMarkdown,
    notified: true,
  };
}

export const handler = /* @__PURE__ */ lambdaHandler(report);
