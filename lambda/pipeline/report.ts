import { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import type { JudgeScore, ModelMetrics } from '../shared/evaluation';
import type { GateResult } from '../shared/gate';
import { buildReport, renderMarkdown, snsSummary, type RunReport } from '../shared/report';
import { readExisting, s3RunStore, s3Uri, type RunStore } from '../shared/run-store';
import { runKeys } from '../shared/runs';
import type { ReportResult, StatusDetailsJson } from '../shared/training-contracts';
import { envTypes, logger, parseInput, passthrough, readEnvironment, tracer } from './common';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));

const environment = () => readEnvironment({ JUDGE_MODEL_ID: envTypes.text, TOPIC_ARN: envTypes.text });
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
  }),
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
 * Writes runs/<runId>/report.json and report.md (never over an existing report: a retried step keeps the first) and
 * publishes the summary to the notifications topic.
 */
export async function report(event: unknown): Promise<ReportResult> {
  const env = environment();
  const input = parseInput(reportInput, event, 'Report');
  const store = s3RunStore(s3, input.bucket);
  const keys = runKeys(input.runId);
  const built = buildReport({
    runId: input.runId,
    generatedAt: new Date().toISOString(),
    student: { metrics: input.evaluation.student, judge: input.judge.student },
    baseline: { metrics: input.evaluation.baseline, judge: input.judge.baseline },
    judgeModelId: env.JUDGE_MODEL_ID,
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
  });

  // Never over an existing report: one written by an earlier attempt stays the report of record.
  const wroteJson = await store.writeOnce(keys.reportJson, JSON.stringify(built, null, 2), 'application/json');
  const final: RunReport = wroteJson
    ? built
    : (JSON.parse(
        await readExisting(store, keys.reportJson, 'it existed when the write was refused: retry the step'),
      ) as RunReport);
  await store.writeOnce(keys.reportMarkdown, renderMarkdown(final), 'text/markdown');

  const { subject, message } = snsSummary(final, s3Uri(input.bucket, keys.reportMarkdown));
  await sns.send(new PublishCommand({ TopicArn: env.TOPIC_ARN, Subject: subject, Message: message }));
  logger.info('run reported', { outcome: final.outcome, key: keys.reportJson, reusedEarlierReport: !wroteJson });
  return {
    outcome: final.outcome,
    reportJsonKey: keys.reportJson,
    reportMarkdownKey: keys.reportMarkdown,
    notified: true,
  };
}

export const handler = report;
