import { estimatedStudentTokens, recordCharsPerToken } from '../../lambda/pipeline/cost/token-assumptions';
import type { JudgeScore } from '../../lambda/pipeline/evaluation/evaluation';
import type { ModelMetrics, TestCase } from '../../lambda/pipeline/evaluation/metrics';
import { evaluateGate } from '../../lambda/pipeline/gate/gate-rules';
import { buildReport, type RunReport, type RunReportInput } from '../../lambda/pipeline/report/run-report';
import { renderMarkdown, snsSummary } from '../../lambda/pipeline/report/report-text';
import {
  confusionMatrix,
  parseAnswers,
  plannedByTarget,
  reportFigures,
  type StoredAnswer,
} from '../../lambda/pipeline/report/report-figures';
import { renderHtml, reportHtmlKey } from '../../lambda/pipeline/report/report-html';
import { DISTILL, FT, OUTCOMES, selectionOf } from './candidate-fixtures';

const metrics = (over: Partial<ModelMetrics>): ModelMetrics => ({
  modelId: 'm',
  queries: 4,
  validReplies: 4,
  validReplyRate: 1,
  dominantAgreement: 0.75,
  meanAbsoluteError: { visual: 0.05, audio: 0.04, transcription: 0.03, metadata: 0.02 },
  meanAbsoluteErrorOverall: 0.035,
  latencyMs: { p50: 800, p95: 1200, mean: 833 },
  meanInputTokens: 60,
  meanOutputTokens: 30,
  costPer1kQueriesUsd: 0.5,
  ...over,
});
const judge = (mean: number, histogram?: number[]): JudgeScore => ({
  mean,
  scored: 4,
  unscored: 0,
  reportedScale: 'normalised',
  ...(histogram ? { histogram } : {}),
});

const MANIFEST = {
  runId: 'run-1',
  generation: { planned: 130, labelled: 120 },
  droppedByReason: { labelInvalid: 6, 'invalid:RESERVED_STRING': 2 },
  duplicates: { exact: 1, normalised: 0 },
  unused: 9,
  counts: {
    train: { total: 100, byModality: { visual: 25, audio: 25, transcription: 25, metadata: 25 }, mixed: 12 },
    test: { total: 4, byModality: { visual: 1, audio: 1, transcription: 1, metadata: 1 }, mixed: 0 },
  },
  labelledByModality: { visual: 30, audio: 31, transcription: 26, metadata: 27 },
  teacher: { estimatedCostUsd: 0.42 },
  files: { train: { bytes: 400_000 } },
};

function report(over: Partial<RunReportInput> = {}): RunReport {
  return buildReport({
    runId: 'run-1',
    generatedAt: '2026-11-25T10:00:00.000Z',
    student: { metrics: metrics({ modelId: 'student-<b>id</b>' }), judge: judge(4.2, [0, 0, 1, 1, 2]) },
    baseline: {
      metrics: metrics({
        modelId: 'baseline',
        costPer1kQueriesUsd: 2,
        latencyMs: { p50: 1600, p95: 2500, mean: 1741 },
      }),
      judge: judge(4, [0, 0, 1, 2, 1]),
    },
    judgeModelId: 'judge',
    gate: evaluateGate(
      { studentJudgeScore: 4.2, baselineJudgeScore: 4, studentDominantAgreement: 0.75, studentValidReplyRate: 1 },
      { minJudgeScore: 4, maxJudgeGapToBaseline: 0.25, minDominantAgreement: 0.85, minValidReplyRate: 0.98 },
    ),
    dataset: {
      trainKey: 'runs/run-1/dataset/train.jsonl',
      testKey: 'runs/run-1/dataset/test.jsonl',
      trainCount: 100,
      testCount: 4,
      manifest: MANIFEST,
    },
    distillation: { modelArn: 'arn:model', reused: false },
    deployment: { deploymentArn: 'arn:deployment', reused: false },
    promotion: { promoted: false },
    ...over,
  });
}

const w = (visual: number, audio: number, transcription: number, metadata: number) => ({
  visual,
  audio,
  transcription,
  metadata,
});
const CASES: TestCase[] = [
  {
    query: 'red car',
    reference: w(0.7, 0.1, 0.1, 0.1),
    referenceText: '',
    dominant: 'visual',
    promptVersion: 'student-v2',
  },
  {
    query: 'dog barking',
    reference: w(0.1, 0.7, 0.1, 0.1),
    referenceText: '',
    dominant: 'audio',
    promptVersion: 'student-v2',
  },
  {
    query: 'chef says',
    reference: w(0.1, 0.1, 0.7, 0.1),
    referenceText: '',
    dominant: 'transcription',
    promptVersion: 'student-v2',
  },
  {
    query: 'Taylor Swift',
    reference: w(0.1, 0.1, 0.1, 0.7),
    referenceText: '',
    dominant: 'metadata',
    promptVersion: 'student-v2',
  },
];
const answer = (query: string, reply: string, latencyMs: number): StoredAnswer => ({
  query,
  reply,
  latencyMs,
  inputTokens: 60,
  outputTokens: 30,
});
// Answers in another order than the cases: they are matched by query.
const STUDENT = [
  answer('dog barking', JSON.stringify(w(0.6, 0.2, 0.1, 0.1)), 900),
  answer('red car', JSON.stringify(w(0.7, 0.1, 0.1, 0.1)), 700),
  answer('Taylor Swift', 'metadata, clearly', 650),
  answer('chef says', JSON.stringify(w(0.1, 0.1, 0.7, 0.1)), 800),
];
const BASELINE = CASES.map((c, i) => answer(c.query, JSON.stringify(c.reference), 1500 + 100 * i));

describe('report figures', () => {
  it('counts the dominant modality of each answer against the teacher’s, invalid replies in the last column', () => {
    expect(confusionMatrix(CASES, STUDENT)).toEqual([
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 0, 1],
    ]);
    expect(() => confusionMatrix(CASES, STUDENT.slice(1))).toThrow(
      'no answer stored for the held-out query "dog barking"',
    );
  });

  it('reads Evaluate’s answers file and refuses a line of another shape', () => {
    const jsonl = STUDENT.map((a) => JSON.stringify(a)).join('\n') + '\n';
    expect(parseAnswers(jsonl, 'answers/student.jsonl')).toEqual(STUDENT);
    expect(() => parseAnswers('{"query":"q"}\n', 'answers/student.jsonl')).toThrow('answers/student.jsonl line 1');
  });

  it('takes the planned queries per target from the plan, or adds up its shards', () => {
    const byTarget = { visual: 30, audio: 30, transcription: 30, metadata: 30, mixed: 10 };
    expect(plannedByTarget(JSON.stringify({ queriesByTarget: byTarget, shards: [] }))).toEqual(byTarget);
    const shards = [
      { target: 'visual', count: 10 },
      { target: 'mixed', count: 4 },
      { target: 'visual', count: 6 },
    ];
    expect(plannedByTarget(JSON.stringify({ shards }))).toEqual({ visual: 16, mixed: 4 });
    expect(plannedByTarget(undefined)).toBeUndefined();
    expect(plannedByTarget('{"shards": 3}')).toBeUndefined();
  });

  it('builds balance, sources, drops and costs from the manifest', () => {
    const plan = JSON.stringify({
      queriesByTarget: { visual: 30, audio: 30, transcription: 30, metadata: 30, mixed: 10 },
    });
    const f = reportFigures({ report: report(), planJson: plan });
    expect(f.balance.categories).toEqual(['visual', 'audio', 'transcription', 'metadata', 'mixed']);
    expect(f.balance.series).toEqual([
      { name: 'planned', values: [30, 30, 30, 30, 10] },
      { name: 'labelled', values: [30, 31, 26, 27, null] },
      { name: 'training', values: [25, 25, 25, 25, 12] },
      { name: 'held out', values: [1, 1, 1, 1, 0] },
    ]);
    // A manifest without sources holds teacher-written records only.
    expect(f.sources).toEqual([{ source: 'synthetic', train: 100, test: 4 }]);
    expect(f.dropped).toEqual([
      { reason: 'surplus left out by rebalancing', count: 9 },
      { reason: 'labelInvalid', count: 6 },
      { reason: 'invalid:RESERVED_STRING', count: 2 },
      { reason: 'duplicate (exact)', count: 1 },
    ]);
    const [generation, distillation, evaluation] = f.costStages;
    expect(generation).toMatchObject({ stage: 'generation', usd: 0.42 });
    // 400,000 bytes at the measured characters per token of a record, at $0.001 per 1k tokens.
    expect(distillation?.usd).toBeCloseTo((400_000 / recordCharsPerToken() / 1000) * 0.001, 12);
    // 4 held-out queries at $0.5 (student) and $2 (baseline) per 1k queries.
    expect(evaluation?.usd).toBeCloseTo(0.01, 10);
    expect(f.judgeHistogram).toEqual({ student: [0, 0, 1, 1, 2], baseline: [0, 0, 1, 2, 1] });
    expect(f.confusion).toBeUndefined();
    expect(f.latencies).toBeUndefined();
  });

  it('costs a reused model nothing to distil, and sorts each model’s latencies for the CDF', () => {
    const f = reportFigures({
      report: report({ distillation: { modelArn: 'arn:model', reused: true } }),
      heldOut: { cases: CASES, answers: { student: STUDENT, baseline: BASELINE } },
    });
    expect(f.costStages[1]).toMatchObject({ usd: 0, basis: 'model reused from an earlier run' });
    expect(f.latencies).toEqual({ student: [650, 700, 800, 900], baseline: [1500, 1600, 1700, 1800] });
    expect(f.confusion?.baseline).toEqual([
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0],
    ]);
  });
});

describe('renderHtml', () => {
  const heldOut = { cases: CASES, answers: { student: STUDENT, baseline: BASELINE } };

  it('puts the outcome and every gate check first, and escapes what the run wrote', () => {
    const r = report();
    const html = renderHtml(reportFigures({ report: r, heldOut }));
    const outcome = html.indexOf('data-outcome="REJECTED"');
    expect(outcome).toBeGreaterThan(0);
    expect(outcome).toBeLessThan(html.indexOf('id="dataset"'));
    // The gate's summary holds a '<', shown as the text it is.
    expect(html).toContain(`Not promoted: ${r.gate.summary.replace('<', '&lt;')}.`);
    for (const check of r.gate.checks) expect(html).toContain(`<code>${check.name}</code>`);
    expect(html).toContain('<td class="verdict">FAIL</td>');
    expect(html).toContain('student-&lt;b&gt;id&lt;/b&gt;');
    expect(html).not.toContain('student-<b>id</b>');
  });

  it('draws every chart when the held-out answers are there, and says why one is missing otherwise', () => {
    const charts = (html: string) => [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
    const full = renderHtml(reportFigures({ report: report(), heldOut }));
    expect(charts(full)).toEqual([
      'balance',
      'sources',
      'dropped',
      'confusion-student',
      'confusion-baseline',
      'judge',
      'mae',
      'latency',
      'cost-stages',
      'cost-per-1m',
    ]);
    const partial = renderHtml(
      reportFigures({
        report: report({
          student: { metrics: metrics({}), judge: judge(4.2) },
          baseline: { metrics: metrics({}), judge: judge(4) },
        }),
      }),
    );
    expect(charts(partial)).toEqual(['balance', 'sources', 'dropped', 'mae', 'cost-stages', 'cost-per-1m']);
    expect(partial).toContain('no confusion matrix is shown');
    expect(partial).toContain('The per-query latencies of this run were not found.');
    expect(partial).toContain('judge scores were kept as means only');
  });

  it('marks the case study’s latencies on the CDF', () => {
    const html = renderHtml(reportFigures({ report: report(), heldOut }));
    const latency = html.slice(
      html.indexOf('data-chart="latency"'),
      html.indexOf('</figure>', html.indexOf('data-chart="latency"')),
    );
    expect(latency).toContain('833 ms');
    expect(latency).toContain('1,741 ms');
  });

  it('shows the canary and the incumbent only when given', () => {
    expect(renderHtml(reportFigures({ report: report() }))).not.toContain('id="compared"');
    const html = renderHtml(
      reportFigures({
        report: report(),
        compared: [
          { role: 'incumbent', modelId: 'arn:incumbent', label: 'run-0', judgeScore: 4.05, latencyMeanMs: 790 },
          { role: 'canary', modelId: 'arn:canary', trafficShare: 0.1, dominantAgreement: 0.93 },
        ],
      }),
    );
    const section = html.slice(html.indexOf('id="compared"'));
    expect(section).toContain('arn:incumbent');
    expect(section).toContain('4.05');
    expect(section).toContain('790 ms');
    expect(section).toContain('10.0 %');
    expect(section).toContain('93.0 %');
  });

  it('shows the incumbent the Gate compared the candidate with, from the gate figures', () => {
    const base = report();
    const incumbent = {
      role: 'incumbent' as const,
      modelId: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefabcdef',
      runId: 'run-0',
      judgeScore: 4.31,
      dominantAgreement: 0.955,
      validReplyRate: 1,
      meanAbsoluteError: 0.01,
      latencyMeanMs: 702,
    };
    const gate = { ...base.gate, comparison: { models: [incumbent], heldOut: { synthetic: 4, production: 0 } } };
    const section = (html: string) => html.slice(html.indexOf('id="compared"'));
    const shown = section(renderHtml(reportFigures({ report: { ...base, gate } })));
    expect(shown).toContain('custom-model-deployment/abcdefabcdef');
    expect(shown).toContain('run run-0');
    expect(shown).toContain('4.31');
    expect(shown).toContain('95.5 %');
    expect(shown).toContain('702 ms');
  });

  it('shows the run’s canary (share and outcome) from the report, and a rolled-back verdict', () => {
    const base = report();
    const canary = {
      done: true,
      outcome: 'rolled-back' as const,
      promoted: false,
      parameterName: '/intent-router/dev/active-model',
      version: 9,
      share: 0.1,
      startedAt: '2026-11-26T12:00:00.000Z',
      elapsedMinutes: 10,
      incumbent: { runId: 'run-0', deploymentArn: 'arn:incumbent' },
      alarms: [{ name: 'IntentRouter-dev-Canary-Fallbacks', state: 'ALARM' as const, reason: 'fallback rate 0.09' }],
      firing: ['IntentRouter-dev-Canary-Fallbacks'],
      summary: 'rolled back after 10 min of canary at 10 %: IntentRouter-dev-Canary-Fallbacks: fallback rate 0.09',
    };
    const rolledBack: RunReport = { ...base, outcome: 'ROLLED_BACK', promotion: { promoted: false, canary } };
    const figures = reportFigures({ report: rolledBack });
    expect(figures.compared).toEqual([
      {
        role: 'canary',
        modelId: base.deployment.deploymentArn,
        label: 'rolled-back after 10 min (IntentRouter-dev-Canary-Fallbacks)',
        trafficShare: 0.1,
      },
    ]);
    const html = renderHtml(figures);
    expect(html).toContain('data-outcome="ROLLED_BACK"');
    expect(html).toContain('Rolled back during the canary: rolled back after 10 min');
    expect(html.slice(html.indexOf('id="compared"'))).toContain('10.0 %');
  });

  it('shows an inconclusive canary as CANARY_INCONCLUSIVE with its traffic figures, not as a rollback', () => {
    const base = report();
    const canary = {
      done: true,
      outcome: 'inconclusive' as const,
      promoted: false,
      parameterName: '/intent-router/dev/active-model',
      version: 9,
      share: 0.1,
      startedAt: '2026-11-26T12:00:00.000Z',
      elapsedMinutes: 180,
      incumbent: { runId: 'run-0', deploymentArn: 'arn:incumbent' },
      alarms: [{ name: 'IntentRouter-dev-Canary-Fallbacks', state: 'OK' as const, reason: 'fallback rate 0' }],
      firing: [],
      traffic: {
        queries: 212,
        shadowSamples: 11,
        minQueries: 300,
        minShadowSamples: 30,
        maxMinutes: 180,
        inconclusive: 'keepIncumbent' as const,
      },
      summary: 'inconclusive after 180 min of canary at 10 % (canaryMaxMinutes 180): no alarm, but only …',
    };
    const figures = reportFigures({ report: report({ promotion: { promoted: false, canary } }) });
    expect(figures.compared).toEqual([
      {
        role: 'canary',
        modelId: base.deployment.deploymentArn,
        label:
          'inconclusive after 180 min: 212 queries (canaryMinQueries 300) and 11 shadow samples ' +
          '(canaryShadowMinSamples 30)',
        trafficShare: 0.1,
      },
    ]);
    const html = renderHtml(figures);
    expect(html).toContain('<title>Intent router run run-1: CANARY_INCONCLUSIVE</title>');
    expect(html).toContain('<p class="outcome warn" data-outcome="CANARY_INCONCLUSIVE">');
    expect(html).toContain(
      'Canary inconclusive, the incumbent (run run-0) is kept: no alarm fired in 180 min, but by canaryMaxMinutes ' +
        '180 the candidate had 212 queries (canaryMinQueries 300) and 11 shadow samples (canaryShadowMinSamples 30), ' +
        'too few to judge it.',
    );
    expect(html).not.toContain('Rolled back');
  });

  it('lives next to report.md, and the notification names it', () => {
    expect(reportHtmlKey('run-1')).toBe('runs/run-1/report.html');
    const { message } = snsSummary(report(), 's3://b/runs/run-1/report.md', 's3://b/runs/run-1/report.html');
    expect(message).toContain('Report: s3://b/runs/run-1/report.md\nReport with charts: s3://b/runs/run-1/report.html');
  });
});

describe('the labelling calibration in the report', () => {
  const calibrationRow = (size: number, agreement: number, meanAbsoluteError: number | null, reasked = 0) => ({
    size,
    queries: 100,
    calls: size === 1 ? 100 : 100 / size + reasked,
    answered: 100 - reasked,
    reasked: { missing: reasked, duplicate: 0, unparsable: 0 },
    agreement,
    meanAbsoluteError,
    inputTokensPerQuery: size === 1 ? 341.5 : 1000 / size,
    outputTokensPerQuery: 30,
  });
  const withCalibration = (calibration: unknown) =>
    report({
      dataset: {
        trainKey: 'runs/run-1/dataset/train.jsonl',
        testKey: 'runs/run-1/dataset/test.jsonl',
        trainCount: 100,
        testCount: 4,
        manifest: { ...MANIFEST, calibration },
      },
    });

  it('shows each size measured against single labels and marks the chosen one', () => {
    const figures = reportFigures({
      report: withCalibration({
        labelBatchSize: 10,
        calibrated: true,
        reason: '10 is the largest batch size with agreement ≥ 0.95 <and> error ≤ 0.03',
        table: [calibrationRow(1, 1, 0), calibrationRow(5, 1, 0.01), calibrationRow(10, 0.97, 0.02, 1)],
        usage: { calls: 131, inputTokens: 50_000, outputTokens: 7_000 },
      }),
    });
    expect(figures.calibration?.rows.map((r) => [r.size, r.chosen])).toEqual([
      [1, false],
      [5, false],
      [10, true],
    ]);
    const html = renderHtml(figures);
    const section = html.slice(
      html.indexOf('id="calibration"'),
      html.indexOf('</section>', html.indexOf('id="calibration"')),
    );
    expect(section).toContain('<h2>Labelling calibration</h2>');
    expect(section).toContain('<strong>10</strong> queries per call');
    expect(section).toContain('&lt;and&gt;');
    const rows = [...section.matchAll(/<tr( class="pass")?><td class="num">(\d+)<\/td>(.*?)<\/tr>/g)].map((m) => [
      m[2],
      [...(m[3] ?? '').matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]),
      m[1] !== undefined,
    ]);
    expect(rows).toEqual([
      ['1', ['100.0 %', '0.000', '0', '341.5', ''], false],
      ['5', ['100.0 %', '0.010', '0', '200.0', ''], false],
      ['10', ['97.0 %', '0.020', '1', '100.0', 'chosen'], true],
    ]);
    // report.md has the same table, not a JSON dump of it.
    const markdown = renderMarkdown(figures.report);
    expect(markdown).toContain('Labelling calibration: 10 queries per teacher call — 10 is the largest batch size');
    expect(markdown).toContain('| 10 | 97.0 % | 0.020 | 1 | 100.0 | ✓ |');
    expect(markdown).toContain('| 5 | 100.0 % | 0.010 | 0 | 200.0 |  |');
    expect(markdown).not.toMatch(/- calibration: /);
  });

  it('says when the size was fixed rather than calibrated, and shows nothing for runs without a calibration', () => {
    const fixed = renderHtml(
      reportFigures({
        report: withCalibration({
          labelBatchSize: 5,
          calibrated: false,
          reason: 'labelBatchSize is fixed at 5 by the configuration: not calibrated',
          table: [],
          usage: { calls: 0, inputTokens: 0, outputTokens: 0 },
        }),
      }),
    );
    expect(fixed).toContain('<strong>5</strong> queries per call (not calibrated): labelBatchSize is fixed at 5');
    expect(fixed).not.toContain('data-table="calibration"');
    const none = reportFigures({ report: report() });
    expect(none.calibration).toBeUndefined();
    expect(renderHtml(none)).not.toContain('id="calibration"');
  });
});

describe('answer formats in the report', () => {
  it('reads each stored answer in the format it was asked in: tenths for student-v2, JSON before formats had versions', () => {
    const compact = CASES.map((c, i) => ({
      ...answer(c.query, i === 2 ? '{"visual":0.1,"audio":0.1,"transcription":0.7,"metadata":0.1}' : '1 1 1 7', 500),
      promptVersion: 'student-v2',
    }));
    // Every tenths reply says metadata; the JSON one is not a student-v2 answer (invalid, last column).
    expect(confusionMatrix(CASES, compact)).toEqual([
      [0, 0, 0, 1, 0],
      [0, 0, 0, 1, 0],
      [0, 0, 0, 0, 1],
      [0, 0, 0, 1, 0],
    ]);
    const legacy = CASES.map((c) => answer(c.query, JSON.stringify(c.reference), 500));
    expect(confusionMatrix(CASES, legacy).map((row, i) => row[i])).toEqual([1, 1, 1, 1]);
  });

  it('shows the student’s measured tokens per query next to the cost model’s estimate for its format', () => {
    const dataset = {
      trainKey: 'runs/run-1/dataset/train.jsonl',
      testKey: 'runs/run-1/dataset/test.jsonl',
      trainCount: 100,
      testCount: 4,
      manifest: { ...MANIFEST, promptVersions: { teacher: 'teacher-v1', student: 'student-v2' } },
    };
    const f = reportFigures({
      report: report({ dataset }),
      heldOut: { cases: CASES, answers: { student: STUDENT, baseline: BASELINE } },
    });
    const estimate = estimatedStudentTokens('student-v2');
    expect(renderMarkdown(f.report)).toContain(
      'Student tokens per held-out query (student-v2 answers): 60.0 in, 30.0 out as Bedrock counted them; the cost ' +
        `model estimates ${estimate.inputTokens.toFixed(1)} in, ${estimate.outputTokens.toFixed(1)} out`,
    );
    // A manifest that names no student prompt version (this fixture's, or a newer release's) shows no estimate.
    expect(reportFigures({ report: report() }).studentTokens).toBeUndefined();
    expect(f.studentTokens).toEqual({
      promptVersion: 'student-v2',
      measured: { inputTokens: 60, outputTokens: 30 },
      estimate: estimatedStudentTokens('student-v2'),
    });
    const html = renderHtml(f);
    const table = html.slice(
      html.indexOf('data-table="student-tokens"'),
      html.indexOf('</table>', html.indexOf('data-table="student-tokens"')),
    );
    expect(table).toContain('student-v2 answers');
    expect(table).toMatch(/<td>output<\/td><td class="num">30\.0<\/td><td class="num">7\.0<\/td>/);
    expect(table).toContain(
      `<td>input</td><td class="num">60.0</td><td class="num">${estimatedStudentTokens('student-v2').inputTokens.toFixed(1)}</td>`,
    );
  });
});

describe('the candidates in report.html', () => {
  /** A run whose single-student fields hold the winner, ft-micro, with every candidate and the selection beside. */
  const withCandidates = () =>
    report({
      student: { metrics: FT.evaluation.student, judge: FT.evaluationStatus.judge.student },
      gate: FT.gate,
      candidateOutcomes: OUTCOMES,
      selection: selectionOf(OUTCOMES),
      promotion: { promoted: true, parameterName: '/intent-router/dev/active-model', version: 4 },
    });
  const heldOut = {
    cases: CASES,
    answers: { student: STUDENT, baseline: BASELINE },
    candidates: { 'ft-micro': STUDENT, 'distill-micro': BASELINE },
  };
  const sectionOf = (html: string, id: string) =>
    html.slice(html.indexOf(`<section id="${id}">`), html.indexOf('</section>', html.indexOf(`<section id="${id}">`)));
  const cellsOf = (table: string, label: string) => {
    const row = table.slice(table.indexOf(`<th scope="row">${label}</th>`));
    return [...row.slice(0, row.indexOf('</tr>')).matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
  };

  it('puts a Candidates section before the gate: one column per candidate, the winner marked, why it won', () => {
    const html = renderHtml(reportFigures({ report: withCandidates(), heldOut }));
    const section = sectionOf(html, 'candidates');
    expect(html.indexOf('<section id="candidates">')).toBeGreaterThan(html.indexOf('data-outcome="PROMOTED"'));
    expect(html.indexOf('<section id="candidates">')).toBeLessThan(html.indexOf('<section id="gate">'));
    expect([...section.matchAll(/<th data-candidate="([^"]+)"( class="(\w+)")?>/g)].map((m) => [m[1], m[3]])).toEqual([
      ['ft-micro', 'winner'],
      ['distill-micro', undefined],
      ['lite-ft', 'dropped'],
    ]);
    expect(section).toContain('ft-micro<br><span class="mark">★ winner</span>');
    expect(section).toContain(
      '<p class="why" data-selection>ft-micro wins: best on quality within sampling error, then ft-micro costs ' +
        '$1.48 per 1M queries vs $2.60; runners-up distill-micro.</p>',
    );
    expect(cellsOf(section, 'method')).toEqual(['fine-tuning', 'distillation', 'fine-tuning']);
    expect(cellsOf(section, 'status')).toEqual(['evaluated', 'evaluated', 'dropped at Check training']);
    expect(cellsOf(section, 'rank')).toEqual(['1', '2', '—']);
    expect(cellsOf(section, 'gate')).toEqual(['passed', 'passed', '—']);
    expect(cellsOf(section, 'dominant agreement')).toEqual(['92.0 %', '91.0 %', '—']);
    expect(cellsOf(section, 'valid replies')).toEqual(['100.0 %', '100.0 %', '—']);
    expect(cellsOf(section, 'mean abs. weight error')).toEqual(['0.020', '0.020', '—']);
    expect(cellsOf(section, 'cost per 1M queries')).toEqual(['$1.48', '$2.60', '—']);
    expect(cellsOf(section, 'training job')).toEqual([FT.training.jobArn, DISTILL.training.jobArn, '—']);
    // The dropped candidate with its cause, escaped.
    expect(section).toContain(
      '<li data-dropped="lite-ft">lite-ft at Check training: TrainingJobFailed: the customization job failed: ' +
        'Insufficient capacity &lt;retry later&gt;</li>',
    );
    // The single-student sections are titled with the chosen candidate.
    expect(html).toContain('<h2>Gate: ft-micro (the winner)</h2>');
    expect(html).toContain('<h2>Quality on the held-out set: ft-micro (the winner)</h2>');
    expect(html).toContain('<h2>Latency: ft-micro (the winner)</h2>');
    expect(html).toContain('Promoted: the winner, ft-micro, passed the gate and is the active model');
  });

  it('draws one small block per evaluated candidate: its confusion matrix and its judge scores', () => {
    const figures = reportFigures({ report: withCandidates(), heldOut });
    expect(figures.candidates).toEqual([
      {
        name: 'ft-micro',
        confusion: confusionMatrix(CASES, STUDENT),
        judgeHistogram: [0, 10, 40, 210, 240],
      },
      {
        name: 'distill-micro',
        confusion: confusionMatrix(CASES, BASELINE),
        judgeHistogram: [0, 12, 45, 215, 228],
      },
    ]);
    const html = renderHtml(figures);
    const charts = [...sectionOf(html, 'candidates').matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
    expect(charts).toEqual([
      'confusion-candidate-ft-micro',
      'judge-candidate-ft-micro',
      'confusion-candidate-distill-micro',
      'judge-candidate-distill-micro',
    ]);
    expect(html).toContain('ft-micro: dominant modality vs teacher (2 on the diagonal).');
    // A candidate whose answers were not found: its block says so instead of failing the report.
    const partial = renderHtml(
      reportFigures({ report: withCandidates(), heldOut: { ...heldOut, candidates: { 'ft-micro': STUDENT } } }),
    );
    expect(partial).toContain('distill-micro: its per-query answers were not found, so no confusion matrix is shown.');
    expect(partial).not.toContain('data-chart="confusion-candidate-distill-micro"');
  });

  it('names the winner, the runners-up and the dropped candidate in the notification', () => {
    const { subject, message } = snsSummary(withCandidates(), 's3://b/runs/run-1/report.md');
    expect(subject).toBe('Intent router run run-1: PROMOTED, winner ft-micro');
    expect(message).toContain('Winner: ft-micro (fine-tuning, student-v3): best on quality within sampling error');
    expect(message).toContain('Runners-up: distill-micro (rank 2, gate passed: as good as ft-micro');
    expect(message).toContain('Dropped: lite-ft at Check training: TrainingJobFailed: the customization job failed');
  });

  it('has no Candidates section for a run from before candidates', () => {
    const html = renderHtml(reportFigures({ report: report(), heldOut }));
    expect(html).not.toContain('id="candidates"');
    expect(html).toContain('<h2>Gate</h2>');
  });
});
