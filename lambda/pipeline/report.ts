import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import type { JudgeScore, ModelMetrics } from '../shared/evaluation';
import type { GateResult } from '../shared/gate';
import { buildReport, renderMarkdown, snsSummary, type RunReport } from '../shared/report';
import { runKeys } from '../shared/runs';
import type { ReportResult, StatusDetailsJson } from '../shared/training-contracts';
import {
  errorName,
  logger,
  parseInput,
  readText,
  readTextIfExists,
  requiredEnv,
  s3Uri,
  tracer,
} from './training-common';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));

const passthrough = <T>() => z.custom<T>((v) => typeof v === 'object' && v !== null);
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

/** Writes an object only if it does not exist yet: a run's report is never overwritten. True when written. */
async function putOnce(bucket: string, key: string, body: string, contentType: string): Promise<boolean> {
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: '*' }),
    );
    return true;
  } catch (error) {
    if (errorName(error) === 'PreconditionFailed') return false;
    throw error;
  }
}

async function readManifest(bucket: string, key: string): Promise<Record<string, unknown> | undefined> {
  const text = await readTextIfExists(s3, bucket, key);
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
  const input = parseInput(reportInput, event, 'Report');
  const keys = runKeys(input.runId);
  const built = buildReport({
    runId: input.runId,
    generatedAt: new Date().toISOString(),
    student: { metrics: input.evaluation.student, judge: input.judge.student },
    baseline: { metrics: input.evaluation.baseline, judge: input.judge.baseline },
    judgeModelId: requiredEnv('JUDGE_MODEL_ID'),
    gate: input.gate,
    dataset: { ...input.assemble, manifest: await readManifest(input.bucket, input.assemble.manifestKey) },
    distillation: {
      modelArn: input.distillation.outputModelArn,
      ...(input.distillation.jobArn ? { jobArn: input.distillation.jobArn } : {}),
      reused: input.distillation.reused ?? false,
      statusDetails: input.distillation.statusDetails,
    },
    deployment: input.deployment,
    promotion: input.promotion,
  });

  const wroteJson = await putOnce(input.bucket, keys.reportJson, JSON.stringify(built, null, 2), 'application/json');
  // A report written by an earlier attempt stays the report of record; the notification repeats it.
  const final: RunReport = wroteJson
    ? built
    : (JSON.parse(await readText(s3, input.bucket, keys.reportJson)) as RunReport);
  await putOnce(input.bucket, keys.reportMarkdown, renderMarkdown(final), 'text/markdown');

  const { subject, message } = snsSummary(final, s3Uri(input.bucket, keys.reportMarkdown));
  await sns.send(new PublishCommand({ TopicArn: requiredEnv('TOPIC_ARN'), Subject: subject, Message: message }));
  logger.info('run reported', { outcome: final.outcome, key: keys.reportJson, reusedEarlierReport: !wroteJson });
  return {
    outcome: final.outcome,
    reportJsonKey: keys.reportJson,
    reportMarkdownKey: keys.reportMarkdown,
    notified: true,
  };
}

export const handler = report;
