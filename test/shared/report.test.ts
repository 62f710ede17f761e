import type { JudgeScore } from '../../lambda/pipeline/evaluation/evaluation';
import type { ModelMetrics } from '../../lambda/pipeline/evaluation/metrics';
import { evaluateGate } from '../../lambda/pipeline/gate/gate-rules';
import { buildReport, type RunReportInput } from '../../lambda/pipeline/report/run-report';
import { renderMarkdown, snsSummary } from '../../lambda/pipeline/report/report-text';

const metrics = (over: Partial<ModelMetrics>): ModelMetrics => ({
  modelId: 'm',
  queries: 100,
  validReplies: 100,
  validReplyRate: 1,
  dominantAgreement: 0.9,
  meanAbsoluteError: { visual: 0.05, audio: 0.04, transcription: 0.03, metadata: 0.02 },
  meanAbsoluteErrorOverall: 0.035,
  latencyMs: { p50: 800, p95: 1200, mean: 833 },
  meanInputTokens: 60,
  meanOutputTokens: 30,
  costPer1kQueriesUsd: 0.0063,
  ...over,
});
const judge = (mean: number): JudgeScore => ({ mean, scored: 100, unscored: 0, reportedScale: 'normalised' });
const thresholds = {
  minJudgeScore: 4,
  maxJudgeGapToBaseline: 0.25,
  minDominantAgreement: 0.85,
  minValidReplyRate: 0.98,
};

function input(studentScore: number, promoted: boolean): RunReportInput {
  const student = metrics({ modelId: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456' });
  const baseline = metrics({
    modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    latencyMs: { p50: 1600, p95: 2500, mean: 1741 },
    costPer1kQueriesUsd: 0.4,
  });
  return {
    runId: 'run-1',
    generatedAt: '2026-11-25T10:00:00.000Z',
    student: { metrics: student, judge: judge(studentScore) },
    baseline: { metrics: baseline, judge: judge(4.0) },
    judgeModelId: 'us.meta.llama3-3-70b-instruct-v1:0',
    gate: evaluateGate(
      {
        studentJudgeScore: studentScore,
        baselineJudgeScore: 4,
        studentDominantAgreement: 0.9,
        studentValidReplyRate: 1,
      },
      thresholds,
    ),
    dataset: {
      trainKey: 'runs/run-1/dataset/train.jsonl',
      testKey: 'runs/run-1/dataset/test.jsonl',
      trainCount: 10000,
      testCount: 100,
      manifest: { mixedShare: 0.12, distribution: { visual: 2500, audio: 2500 }, dropped: { duplicate: 31 } },
    },
    distillation: {
      modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/x/y',
      jobArn: 'arn:job',
      reused: false,
    },
    deployment: { deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc', reused: false },
    promotion: promoted
      ? { promoted: true, parameterName: '/intent-router/dev/active-model', version: 3 }
      : { promoted: false },
  };
}

describe('buildReport', () => {
  it('builds the case study table and savings against the baseline', () => {
    const report = buildReport(input(4.1, true));
    expect(report.outcome).toBe('PROMOTED');
    expect(report.table.map((r) => [r.model, r.judgeScore, r.latencyMeanMs, r.costPer1MQueriesUsd])).toEqual([
      ['student', 4.1, 833, 6.3],
      ['baseline', 4, 1741, 400],
    ]);
    expect(report.savings.costReduction).toBeCloseTo(1 - 6.3 / 400, 10);
    expect(report.savings.meanLatencyReduction).toBeCloseTo(1 - 833 / 1741, 10);
    expect(report.savings.judgeScoreDifference).toBeCloseTo(0.1, 10);
  });

  it('has no savings figure when a price is unknown', () => {
    const i = input(4.1, true);
    const report = buildReport({ ...i, student: { ...i.student, metrics: metrics({ costPer1kQueriesUsd: null }) } });
    expect(report.savings.costReduction).toBeNull();
    expect(renderMarkdown(report)).toContain('price unknown (set `prices`)');
  });
});

describe('renderMarkdown', () => {
  it('shows the table, the gate checks, the dataset stats from the manifest and the resources', () => {
    const md = renderMarkdown(buildReport(input(4.1, true)));
    expect(md).toContain('# Intent router run `run-1`: PROMOTED');
    expect(md).toMatch(
      /\| student \(`arn:aws:bedrock:.*`\) \| 4\.10 \| 100\.0 % \| 90\.0 % \| 0\.035 \| 833 ms \| 1,200 ms \| \$6\.3 \|/,
    );
    expect(md).toMatch(/\| baseline .* \| 1,741 ms \| 2,500 ms \| \$400 \|/);
    expect(md).toContain('Savings against the baseline: cost 98.4 %, mean latency 52.2 %');
    expect(md).toMatch(/\| `minJudgeScore` .* \| 4\.100 \| >= 4 \| pass \|/);
    expect(md).toContain('- training records: 10,000');
    expect(md).toContain('- mixedShare: 0.1200');
    expect(md).toContain('- distribution: visual: 2,500; audio: 2,500');
    expect(md).toContain('/intent-router/dev/active-model` version 3');
  });

  it('says which threshold a rejected run failed', () => {
    const md = renderMarkdown(buildReport(input(3.5, false)));
    expect(md).toContain('REJECTED');
    expect(md).toContain('**not promoted**: rejected: minJudgeScore (3.5 < 4), maxJudgeGapToBaseline (0.5 > 0.25)');
    expect(md).toMatch(/\| `minJudgeScore` .* \| \*\*FAIL\*\* \|/);
  });
});

describe('snsSummary', () => {
  it('fits the subject within SNS limits and summarises the outcome', () => {
    const { subject, message } = snsSummary(buildReport(input(3.5, false)), 's3://b/runs/run-1/report.md');
    expect(subject).toBe('Intent router run run-1: REJECTED');
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(message).toContain('Not promoted. Gate rejected: minJudgeScore');
    expect(message).toContain('Judge score: student 3.50 vs baseline 4.00.');
    expect(message).toContain('Report: s3://b/runs/run-1/report.md');
  });
});

describe('a run that went through a canary', () => {
  const reason =
    'Threshold Crossed: 1 out of the last 1 datapoints [0.0731 (26/11/26 12:10:00)] was greater than the threshold (0.02).';
  const canary = (outcome: 'promoted' | 'rolled-back', firing: string[]) => ({
    done: true,
    outcome,
    promoted: outcome === 'promoted',
    parameterName: '/intent-router/dev/active-model',
    version: 9,
    share: 0.1,
    startedAt: '2026-11-26T12:00:00.000Z',
    elapsedMinutes: outcome === 'promoted' ? 60 : 10,
    incumbent: {
      runId: 'run-0',
      deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/incumbent001',
    },
    alarms: [
      { name: 'IntentRouter-dev-Canary-InvalidReplies', state: firing.length ? 'ALARM' : 'OK', reason } as const,
      {
        name: 'IntentRouter-dev-Canary-ShadowAgreement',
        state: 'INSUFFICIENT_DATA',
        reason: 'too few samples',
      } as const,
    ],
    firing,
    summary:
      outcome === 'promoted'
        ? 'promoted after 60 min of canary at 10 % with no alarm'
        : `rolled back after 10 min of canary at 10 %: IntentRouter-dev-Canary-InvalidReplies: ${reason}`,
  });
  const withCanary = (outcome: 'promoted' | 'rolled-back', firing: string[]): RunReportInput => ({
    ...input(4.2, outcome === 'promoted'),
    promotion: {
      promoted: outcome === 'promoted',
      parameterName: '/intent-router/dev/active-model',
      version: 9,
      canary: canary(outcome, firing),
    },
  });

  it('is ROLLED_BACK when an alarm ended the canary; the report and the notification name the alarm and figures', () => {
    const report = buildReport(withCanary('rolled-back', ['IntentRouter-dev-Canary-InvalidReplies']));
    expect(report.outcome).toBe('ROLLED_BACK');
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('# Intent router run `run-1`: ROLLED_BACK');
    expect(markdown).toContain('passed the gate but was **rolled back** during its canary');
    expect(markdown).toContain('## Canary');
    expect(markdown).toContain('- outcome: **rolled-back** after 10 min at 10.0 % of live traffic');
    expect(markdown).toContain(`| \`IntentRouter-dev-Canary-InvalidReplies\` | **ALARM** | ${reason} |`);
    expect(markdown).toContain('| `IntentRouter-dev-Canary-ShadowAgreement` | INSUFFICIENT_DATA | too few samples |');
    const { subject, message } = snsSummary(report, 's3://b/runs/run-1/report.md');
    expect(subject).toBe('Intent router run run-1: ROLLED_BACK');
    expect(message).toContain('Rolled back to the incumbent (run run-0) during the canary.');
    expect(message).toContain(`IntentRouter-dev-Canary-InvalidReplies: ${reason}`);
  });

  it('is PROMOTED after a quiet canary, with the canary’s section', () => {
    const report = buildReport(withCanary('promoted', []));
    expect(report.outcome).toBe('PROMOTED');
    expect(renderMarkdown(report)).toContain('passed the gate and its canary and is now the active model');
    expect(renderMarkdown(report)).toContain('| `IntentRouter-dev-Canary-InvalidReplies` | OK |');
    expect(snsSummary(report, 's3://b/r.md').message).toContain(
      'Canary: promoted, promoted after 60 min of canary at 10 % with no alarm.',
    );
  });

  it('without a canary, a run that was not promoted stays REJECTED and has no canary section', () => {
    const report = buildReport(input(3.5, false));
    expect(report.outcome).toBe('REJECTED');
    expect(renderMarkdown(report)).not.toContain('## Canary');
  });
});
