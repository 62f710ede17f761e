import type { JudgeScore } from '../../lambda/pipeline/evaluation/evaluation';
import type { ModelMetrics } from '../../lambda/pipeline/evaluation/metrics';
import { evaluateGate } from '../../lambda/pipeline/gate/gate-rules';
import { buildReport, type RunReportInput } from '../../lambda/pipeline/report/run-report';
import { renderMarkdown, snsSummary } from '../../lambda/pipeline/report/report-text';
import { DISTILL, evaluatedCandidate, FT, LITE, OUTCOMES, selectionOf } from '../report/candidate-fixtures';

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

  /** Check canary's result when canaryMaxMinutes passed quietly with too little traffic (check-canary.ts). */
  const inconclusive = (promoted: boolean): RunReportInput => {
    const quiet = canary('promoted', []);
    return {
      ...input(4.2, promoted),
      promotion: {
        promoted,
        parameterName: '/intent-router/dev/active-model',
        version: 9,
        canary: {
          ...quiet,
          outcome: 'inconclusive',
          promoted,
          elapsedMinutes: 180,
          traffic: {
            queries: 212,
            shadowSamples: 11,
            minQueries: 300,
            minShadowSamples: 30,
            maxMinutes: 180,
            inconclusive: promoted ? 'promote' : 'keepIncumbent',
          },
          summary:
            'inconclusive after 180 min of canary at 10 % (canaryMaxMinutes 180): no alarm, but only 212 candidate ' +
            'queries (canaryMinQueries 300), 11 shadow samples (canaryShadowMinSamples 30); the incumbent is kept',
        },
      },
    };
  };

  it('is CANARY_INCONCLUSIVE, not ROLLED_BACK, when the canary ran out of time for traffic; with the figures', () => {
    const report = buildReport(inconclusive(false));
    expect(report.outcome).toBe('CANARY_INCONCLUSIVE');
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('# Intent router run `run-1`: CANARY_INCONCLUSIVE');
    expect(markdown).not.toContain('rolled back');
    expect(markdown).toContain(
      'The distilled student passed the gate, but its canary was **inconclusive**: no alarm fired in 180 min, but ' +
        'by canaryMaxMinutes 180 the candidate had 212 queries (canaryMinQueries 300) and 11 shadow samples ' +
        '(canaryShadowMinSamples 30), too few to judge it. The incumbent (run `run-0`) is kept ' +
        '(canaryInconclusive keepIncumbent).',
    );
    expect(markdown).toContain('- outcome: **inconclusive** after 180 min at 10.0 % of live traffic');
    expect(markdown).toContain(
      '- candidate traffic: 212 queries (canaryMinQueries 300) and 11 shadow samples (canaryShadowMinSamples 30), ' +
        'canaryMaxMinutes 180',
    );
    const { subject, message } = snsSummary(report, 's3://b/runs/run-1/report.md');
    expect(subject).toBe('Intent router run run-1: CANARY_INCONCLUSIVE');
    expect(message).toContain(
      'Canary inconclusive: the incumbent (run run-0) is kept. No alarm fired in 180 min, but by canaryMaxMinutes ' +
        '180 the candidate had 212 queries (canaryMinQueries 300) and 11 shadow samples (canaryShadowMinSamples 30), ' +
        'too few to judge it.',
    );
    expect(message).not.toContain('Rolled back');
    // What to do next: the same model, judged on more traffic.
    expect(message).toContain("start a run with --reuse-model <this run's custom model ARN>");
    expect(markdown).toContain("start a run with --reuse-model <this run's custom model ARN>");
  });

  it('is PROMOTED when an inconclusive canary promotes anyway (canaryInconclusive promote), and says so', () => {
    const report = buildReport(inconclusive(true));
    expect(report.outcome).toBe('PROMOTED');
    expect(renderMarkdown(report)).toContain(
      'passed the gate and is now the active model (`/intent-router/dev/active-model` version 9), although its ' +
        'canary was **inconclusive**: no alarm fired in 180 min, but by canaryMaxMinutes 180 the candidate had 212 queries',
    );
    expect(renderMarkdown(report)).toContain('(canaryInconclusive promote)');
    expect(snsSummary(report, 's3://b/r.md').message).toContain(
      'Promoted although the canary was inconclusive (canaryInconclusive promote): no alarm fired in 180 min, but',
    );
  });

  it('without a canary, a run that was not promoted stays REJECTED and has no canary section', () => {
    const report = buildReport(input(3.5, false));
    expect(report.outcome).toBe('REJECTED');
    expect(renderMarkdown(report)).not.toContain('## Canary');
  });
});

describe('a run with candidates', () => {
  /** The chosen candidate's figures in the single-student fields, as the state machine passes them. */
  const withCandidates = (outcomes = OUTCOMES, promoted = true): RunReportInput => {
    const selection = selectionOf(outcomes);
    const chosen = selection.chosen;
    const base = input(4.2, promoted);
    const found = outcomes.find((o) => o.candidate.name === chosen.candidate.name);
    if (!found || 'failure' in found) throw new Error('the chosen candidate is an evaluated one');
    return {
      ...base,
      student: { metrics: found.evaluation.student, judge: found.evaluationStatus.judge.student },
      gate: found.gate,
      candidateOutcomes: outcomes,
      selection,
    };
  };

  it('lists every candidate in report.json with its place, gate and figures, and the selection’s reason', () => {
    const report = buildReport(withCandidates());
    expect(report.candidates?.map((c) => [c.name, c.status])).toEqual([
      ['ft-micro', 'evaluated'],
      ['distill-micro', 'evaluated'],
      ['lite-ft', 'dropped'],
    ]);
    const [ft, distill, lite] = report.candidates ?? [];
    expect(ft).toMatchObject({
      name: 'ft-micro',
      method: 'fine-tuning',
      baseModelId: 'amazon.nova-micro-v1:0:128k',
      promptVersion: 'student-v3',
      rank: 1,
      winner: true,
      chosen: true,
      gate: { passed: true, verdict: 'passed', failedChecks: [] },
      dominantAgreement: 0.92,
      judgeMean: 4.2,
      judgeHistogram: [0, 10, 40, 210, 240],
      validReplyRate: 1,
      weightError: 0.02,
      latencyP50Ms: 310,
      latencyP95Ms: 496,
      meanInputTokens: 14,
      meanOutputTokens: 7,
      trainingJobArn: FT.training.jobArn,
      modelArn: FT.training.outputModelArn,
      deploymentArn: FT.deployment.deploymentArn,
    });
    if (ft?.status !== 'evaluated' || distill?.status !== 'evaluated') throw new Error('evaluated rows expected');
    // costPer1kQueriesUsd × 1000.
    expect(ft.costPer1MQueriesUsd).toBeCloseTo(1.48, 10);
    expect(distill.costPer1MQueriesUsd).toBeCloseTo(2.6, 10);
    expect(ft.why).toBe('best on quality within sampling error, then ft-micro costs $1.48 per 1M queries vs $2.60');
    expect(distill).toMatchObject({ rank: 2, winner: false, chosen: false, method: 'distillation' });
    expect(distill.why).toBe(
      'as good as ft-micro within sampling error, but ft-micro costs $1.48 per 1M queries vs $2.60',
    );
    expect(lite).toEqual({
      name: 'lite-ft',
      method: 'fine-tuning',
      baseModelId: 'amazon.nova-lite-v1:0:300k',
      promptVersion: 'student-v3',
      status: 'dropped',
      failure: LITE.failure,
    });
    expect(report.selection).toEqual({
      winner: 'ft-micro',
      chosen: 'ft-micro',
      promote: true,
      reason: selectionOf(OUTCOMES).reason,
      runnersUp: ['distill-micro'],
      dropped: ['lite-ft'],
    });
    // The raw map output stays out of report.json: the rows hold what a reader compares.
    const json = JSON.stringify(report);
    expect(json).not.toContain('candidateOutcomes');
    expect(json).not.toContain('evaluationStatus');
  });

  it('shows the candidates side by side near the top of report.md, the winner marked, and why it won', () => {
    const markdown = renderMarkdown(buildReport(withCandidates()));
    const candidates = markdown.indexOf('## Candidates');
    expect(candidates).toBeGreaterThan(0);
    expect(candidates).toBeLessThan(markdown.indexOf('## Student'));
    expect(markdown).toContain(
      'Why: ft-micro wins: best on quality within sampling error, then ft-micro costs $1.48 per 1M queries vs ' +
        '$2.60; runners-up distill-micro.',
    );
    expect(markdown).toContain('| | **`ft-micro`** ★ winner | **`distill-micro`** | **`lite-ft`** dropped |');
    expect(markdown).toContain('| method | fine-tuning | distillation | fine-tuning |');
    expect(markdown).toContain('| prompt version | student-v3 | student-v2 | student-v3 |');
    expect(markdown).toContain('| status | evaluated | evaluated | dropped at Check training |');
    expect(markdown).toContain('| rank | 1 | 2 | — |');
    expect(markdown).toContain('| gate | passed | passed | — |');
    expect(markdown).toContain('| dominant agreement | 92.0 % | 91.0 % | — |');
    expect(markdown).toContain('| judge mean (1–5) | 4.20 | 4.15 | — |');
    expect(markdown).toContain('| judge scores 1/2/3/4/5 | 0 / 10 / 40 / 210 / 240 | 0 / 12 / 45 / 215 / 228 | — |');
    expect(markdown).toContain('| latency p50 / p95 | 310 ms / 496 ms | 330 ms / 528 ms | — |');
    expect(markdown).toContain('| tokens in / out (mean) | 14.0 / 7.0 | 52.0 / 8.0 | — |');
    expect(markdown).toContain('| cost per 1M queries | $1.48 | $2.60 | — |');
    expect(markdown).toContain(
      '- lite-ft at Check training: TrainingJobFailed: the customization job failed: Insufficient capacity <retry later>',
    );
    // The single-student sections describe the winner, and say so.
    expect(markdown).toContain('## Student ft-micro (the winner) vs baseline (held-out queries)');
    expect(markdown).toContain('## Gate: ft-micro (the winner)');
    expect(markdown).toContain('The winner, candidate `ft-micro`, passed the gate and is now the active model');
  });

  it('names the winner and the runners-up in the notification, and the dropped candidate with its cause', () => {
    const { subject, message } = snsSummary(buildReport(withCandidates()), 's3://b/runs/run-1/report.md');
    expect(subject).toBe('Intent router run run-1: PROMOTED, winner ft-micro');
    expect(message).toContain(
      'Winner: ft-micro (fine-tuning, student-v3): best on quality within sampling error, then ft-micro costs $1.48 ' +
        'per 1M queries vs $2.60.',
    );
    expect(message).toContain(
      'Runners-up: distill-micro (rank 2, gate passed: as good as ft-micro within sampling error, but ft-micro costs ' +
        '$1.48 per 1M queries vs $2.60).',
    );
    expect(message).toContain(
      'Dropped: lite-ft at Check training: TrainingJobFailed: the customization job failed: Insufficient capacity',
    );
    expect(message).toContain('Held-out figures of ft-micro (the winner):');
  });

  it('says that none passed, and which one the figures describe, when no candidate passed its gate', () => {
    const weak = evaluatedCandidate('weak', {
      agreement: 0.6,
      judge: 3.1,
      histogram: [40, 60, 200, 150, 50],
      costPer1k: 0.001,
      p50: 300,
    });
    const weaker = evaluatedCandidate('weaker', {
      agreement: 0.5,
      judge: 3.0,
      histogram: [50, 70, 200, 140, 40],
      costPer1k: 0.001,
      p50: 300,
    });
    const report = buildReport(withCandidates([weak, weaker], false));
    expect(report.outcome).toBe('REJECTED');
    expect(report.selection).toMatchObject({ chosen: 'weak', promote: false, runnersUp: [] });
    expect(report.selection?.winner).toBeUndefined();
    const markdown = renderMarkdown(report);
    expect(markdown).toContain(
      'No candidate passed its gate: **nothing was promoted**. The best evaluated, `weak`, was rejected',
    );
    expect(markdown).toContain('| | **`weak`** best evaluated, not promoted | **`weaker`** |');
    expect(markdown).toContain('| failed checks | minJudgeScore, maxJudgeGapToBaseline, minDominantAgreement |');
    expect(markdown).toContain('## Student weak (the best evaluated candidate, not promoted) vs baseline');
    const { subject, message } = snsSummary(report, 's3://b/r.md');
    expect(subject).toBe('Intent router run run-1: REJECTED, no candidate passed');
    expect(message).toContain(
      "No candidate passed its gate (weak: rejected; weaker: rejected): nothing is promoted; the figures below are weak's.",
    );
    expect(message).not.toContain('Winner:');
  });

  it('reports a run from before candidates as it always did', () => {
    const report = buildReport(input(4.1, true));
    expect(report.candidates).toBeUndefined();
    expect(report.selection).toBeUndefined();
    expect(renderMarkdown(report)).not.toContain('## Candidates');
    expect(snsSummary(report, 's3://b/r.md').subject).toBe('Intent router run run-1: PROMOTED');
  });

  it('keeps the configured order in the table; the cheaper candidate still wins a quality tie', () => {
    const report = buildReport(withCandidates([DISTILL, FT]));
    expect(report.selection).toMatchObject({ winner: 'ft-micro', runnersUp: ['distill-micro'] });
    expect(report.candidates?.map((c) => c.name)).toEqual(['distill-micro', 'ft-micro']);
  });
});
