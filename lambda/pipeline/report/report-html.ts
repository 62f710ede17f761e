import { MODALITIES } from '../../core/modality';
import { runKeys } from '../../core/runs';
import {
  COLOURS,
  confusionChart,
  escapeHtml,
  figure,
  groupedBars,
  latencyChart,
  SERIES_PALETTE,
} from './report-charts';
import { STYLE } from './report-style';
import { CASE_STUDY_LATENCY_MS, type ComparedModel, type ReportFigures } from './report-figures';
import { chosenCandidate, type DroppedCandidateRow, type RunReport } from './run-report';
import {
  candidateMark,
  candidateTableRows,
  checkVerdict,
  chosenLabel,
  droppedLine,
  inconclusiveCanaryText,
  selectionVerdict,
  STATISTIC_NAMES,
} from './report-text';

/**
 * The run report as one self-contained HTML page (runs/<runId>/report.html): inline CSS and SVG only, no script and
 * no URL, so it opens from a download, an e-mail or S3 alike and prints as it shows. The charts are Apache ECharts
 * rendered to SVG strings on the server (report-charts.ts).
 */

export const reportHtmlKey = (runId: string) => runKeys(runId).reportHtml;

const fixed = (x: number, digits: number) => x.toFixed(digits);
const percent = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x).toLocaleString('en-US')} ms`);
const usd = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined
    ? 'price unknown'
    : `$${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;

const note = (text: string) => `<p class="note">${escapeHtml(text)}</p>`;

/** The outcome line's words and its colour: green promoted, red rejected or rolled back, amber undecided. */
function outcomeLine(report: RunReport): { readonly verdict: string; readonly tone: 'pass' | 'fail' | 'warn' } {
  const { canary } = report.promotion;
  const inconclusive = inconclusiveCanaryText(canary);
  const chosen = chosenCandidate(report);
  switch (report.outcome) {
    case 'PROMOTED':
      return {
        tone: 'pass',
        verdict:
          `Promoted: ${chosen ? `the winner, ${chosen.name},` : 'the student'} passed the gate and is the active model` +
          (report.promotion.version !== undefined ? ` (parameter version ${report.promotion.version})` : '') +
          (inconclusive
            ? `, although its canary was inconclusive (canaryInconclusive promote): ${inconclusive}.`
            : '.'),
      };
    case 'CANARY_INCONCLUSIVE':
      return {
        tone: 'warn',
        verdict:
          `Canary inconclusive, the incumbent (run ${canary?.incumbent.runId ?? '?'}) is kept: ` +
          `${inconclusive ?? report.promotion.reason ?? ''}.`,
      };
    case 'ROLLED_BACK':
      return {
        tone: 'fail',
        verdict: `Rolled back during the canary: ${canary?.summary ?? report.promotion.reason ?? ''}.`,
      };
    case 'REJECTED':
      return {
        tone: 'fail',
        verdict: chosen
          ? `Not promoted: no candidate passed its gate; the best evaluated, ${chosen.name}, was ${report.gate.summary}.`
          : `Not promoted: ${report.gate.summary}.`,
      };
  }
}

/** The page's top: the run, its outcome, the models compared. */
function header(report: RunReport): string {
  const { verdict, tone } = outcomeLine(report);
  const chosen = chosenCandidate(report);
  return `<header>
<h1>Intent router run <code>${escapeHtml(report.runId)}</code></h1>
<p class="outcome ${tone}" data-outcome="${report.outcome}"><strong>${report.outcome}</strong> — ${escapeHtml(verdict)}</p>
<p class="muted">Generated ${escapeHtml(report.generatedAt)}. Judge <code>${escapeHtml(report.judgeModelId)}</code> (1–5 weight-accuracy rubric).
Student${chosen ? ` ${escapeHtml(chosen.name)}` : ''} <code>${escapeHtml(report.student.metrics.modelId)}</code>, baseline <code>${escapeHtml(report.baseline.metrics.modelId)}</code>.</p>
</header>`;
}

/** `: <chosen candidate>` for the single-student sections' titles (empty for a run without candidates). */
const chosenTitle = (report: RunReport) => {
  const label = chosenLabel(report);
  return label ? `: ${escapeHtml(label)}` : '';
};

/** The gate's checks and paired statistics of the student (the chosen candidate). */
function gateSection(report: RunReport): string {
  const rows = report.gate.checks
    .map(
      (c) =>
        `<tr class="${c.passed ? 'pass' : 'fail'}"><td><code>${escapeHtml(c.name)}</code><br><span class="muted">` +
        `${escapeHtml(c.description)}</span></td><td class="num">${fixed(c.value, 3)}</td>` +
        `<td class="num">${escapeHtml(c.comparison)} ${c.threshold}</td>` +
        `<td class="verdict">${escapeHtml(checkVerdict(c).replace(/\*/g, ''))}</td></tr>`,
    )
    .join('');
  const statistics = (report.gate.statistics ?? [])
    .map(
      (st) =>
        `<tr class="${st.verdict === 'worse' ? 'fail' : st.verdict === 'not-worse' ? 'pass' : ''}">` +
        `<td>${STATISTIC_NAMES[st.metric]}` +
        `${st.gating ? '' : ' <span class="muted">(reported, not gated)</span>'}</td><td>${escapeHtml(st.test)}` +
        (st.discordant
          ? `<br><span class="muted">only candidate right ${st.discordant.candidateOnly}, only incumbent ` +
            `${st.discordant.otherOnly}</span>`
          : '') +
        `</td><td class="num">${st.queries}</td><td class="num">${fixed(st.observedDrop, 4)}</td>` +
        `<td class="num">${fixed(st.upperBound, 4)} at ${fixed(st.confidence * 100, 1)} %</td>` +
        `<td class="num">${st.margin}</td><td class="num">${fixed(st.pValue, 4)}</td>` +
        `<td class="verdict">${escapeHtml(st.verdict)}</td><td class="num">${st.queriesToDecide ?? '—'}</td></tr>`,
    )
    .join('');
  const pairedTable = statistics
    ? `<h3>Paired comparison with the incumbent (same held-out queries)</h3>
<table class="gate paired"><thead><tr><th>figure</th><th>test</th><th>queries</th><th>drop (incumbent − candidate)</th>
<th>upper bound</th><th>margin</th><th>p (worse)</th><th>verdict</th><th>queries to decide</th></tr></thead><tbody>${statistics}</tbody></table>`
    : '';
  const gateVerdict = report.gate.verdict
    ? `<p class="gate-verdict" data-verdict="${report.gate.verdict}">Verdict: <strong>${report.gate.verdict}</strong></p>`
    : '';
  return `<section id="gate"><h2>Gate${chosenTitle(report)}</h2>${gateVerdict}
<table class="gate"><thead><tr><th>check</th><th>value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>
${pairedTable}</section>`;
}

function comparisonTable(report: RunReport): string {
  const rows = report.table
    .map(
      (r) =>
        `<tr><td><span class="swatch" style="background:${COLOURS[r.model]}"></span>${r.model}<br>` +
        `<code class="small">${escapeHtml(r.modelId)}</code></td><td class="num">${fixed(r.judgeScore, 2)}</td>` +
        `<td class="num">${percent(r.dominantAgreement)}</td><td class="num">${percent(r.validReplyRate)}</td>` +
        `<td class="num">${r.meanAbsoluteError === null ? 'n/a' : fixed(r.meanAbsoluteError, 3)}</td>` +
        `<td class="num">${ms(r.latencyMeanMs)}</td><td class="num">${ms(r.latencyP95Ms)}</td>` +
        `<td class="num">${usd(r.costPer1MQueriesUsd)}</td></tr>`,
    )
    .join('');
  const s = report.savings;
  return `<table><thead><tr><th>model</th><th>judge (1–5)</th><th>dominant agreement</th><th>valid replies</th>
<th>mean abs. error</th><th>latency mean</th><th>latency p95</th><th>cost per 1M queries</th></tr></thead><tbody>${rows}</tbody></table>
<p>Student against baseline: cost ${percent(s.costReduction)} lower, mean latency ${percent(s.meanLatencyReduction)} lower,
judge score ${s.judgeScoreDifference >= 0 ? '+' : ''}${fixed(s.judgeScoreDifference, 2)}.</p>`;
}

function datasetSection(f: ReportFigures): string {
  const { report } = f;
  const balance =
    f.balance.series.length === 0
      ? note('The manifest holds no counts per modality.')
      : figure(
          'balance',
          'Records per dominant modality (the teacher’s label): planned per target, labelled, and kept after rebalancing.',
          groupedBars(f.balance.categories, f.balance.series, { yName: 'records' }),
          720,
          300,
        );
  const sources = figure(
    'sources',
    'Where the kept records came from.',
    groupedBars(
      ['training', 'held out'],
      f.sources.map((s, i) => ({
        name: s.source,
        values: [s.train, s.test],
        colour: SERIES_PALETTE[(i + 2) % SERIES_PALETTE.length],
      })),
      { horizontal: true, labels: (v) => v.toLocaleString('en-US') },
    ),
    400,
    180,
  );
  const dropped =
    f.dropped.length === 0
      ? note('Nothing was dropped.')
      : figure(
          'dropped',
          'What was dropped on the way, and why.',
          groupedBars(
            f.dropped.map((d) => d.reason),
            [{ name: 'records', values: f.dropped.map((d) => d.count), colour: '#8c96a8' }],
            { horizontal: true, labels: (v) => v.toLocaleString('en-US') },
          ),
          520,
          Math.max(160, 60 + 28 * f.dropped.length),
        );
  return `<section id="dataset"><h2>Dataset</h2>
<p>${report.dataset.trainCount.toLocaleString('en-US')} training and ${report.dataset.testCount.toLocaleString('en-US')}
held-out records (<code>${escapeHtml(report.dataset.trainKey)}</code>, <code>${escapeHtml(report.dataset.testKey)}</code>).</p>
${balance}<div class="row">${sources}${dropped}</div></section>`;
}

function qualitySection(f: ReportFigures): string {
  const { report } = f;
  const confusion = f.confusion
    ? `<div class="row">${(['student', 'baseline'] as const)
        .map((m) => {
          const matrix = f.confusion?.[m] ?? [];
          const agreeing = matrix.reduce((s, row, i) => s + (row[i] ?? 0), 0);
          return figure(
            `confusion-${m}`,
            `Dominant modality, ${m} vs teacher, on the ${report.dataset.testCount} held-out queries: ${agreeing} on the ` +
              'diagonal.',
            confusionChart(matrix, COLOURS[m]),
            460,
            280,
          );
        })
        .join('')}</div>`
    : note('The per-query answers of this run were not found, so no confusion matrix is shown.');
  const judge = f.judgeHistogram
    ? figure(
        'judge',
        `Judge scores (1–5): student mean ${fixed(report.student.judge.mean, 2)}, baseline mean ` +
          `${fixed(report.baseline.judge.mean, 2)}.`,
        groupedBars(
          ['1', '2', '3', '4', '5'],
          (['student', 'baseline'] as const).map((m) => ({
            name: m,
            values: f.judgeHistogram?.[m] ?? [],
            colour: COLOURS[m],
          })),
          { yName: 'records' },
        ),
        420,
        260,
      )
    : note('This run’s judge scores were kept as means only.');
  const mae = figure(
    'mae',
    'Mean absolute error against the teacher’s weights, per modality (valid replies).',
    groupedBars(
      MODALITIES,
      (['student', 'baseline'] as const).map((m) => ({ name: m, values: f.mae[m], colour: COLOURS[m] })),
      { labels: (v) => fixed(v, 3) },
    ),
    420,
    260,
  );
  return `<section id="quality"><h2>Quality on the held-out set${chosenTitle(report)}</h2>${comparisonTable(report)}
${confusion}<div class="row">${judge}${mae}</div></section>`;
}

function latencySection(f: ReportFigures): string {
  const { report } = f;
  const chart = f.latencies
    ? figure(
        'latency',
        `Latency per held-out query (cumulative share), client-side around each Converse call. Dashed: the case ` +
          `study’s means (${CASE_STUDY_LATENCY_MS.student} ms student, ` +
          `${CASE_STUDY_LATENCY_MS.baseline.toLocaleString('en-US')} ms baseline).`,
        latencyChart(f.latencies),
        720,
        300,
      )
    : note('The per-query latencies of this run were not found.');
  return `<section id="latency"><h2>Latency${chosenTitle(report)}</h2>
<p>Student mean ${ms(report.student.metrics.latencyMs.mean)} (p50 ${ms(report.student.metrics.latencyMs.p50)},
p95 ${ms(report.student.metrics.latencyMs.p95)}); baseline mean ${ms(report.baseline.metrics.latencyMs.mean)}
(p50 ${ms(report.baseline.metrics.latencyMs.p50)}, p95 ${ms(report.baseline.metrics.latencyMs.p95)}).</p>${chart}</section>`;
}

function costSection(f: ReportFigures): string {
  const { report } = f;
  const stages = f.costStages
    .map(
      (s) =>
        `<tr><td>${s.stage}</td><td class="num">${usd(s.usd)}</td><td class="muted">${escapeHtml(s.basis)}</td></tr>`,
    )
    .join('');
  const stageChart = figure(
    'cost-stages',
    'Run cost by stage (USD).',
    groupedBars(
      f.costStages.map((s) => s.stage),
      [{ name: 'USD', values: f.costStages.map((s) => s.usd), colour: '#5b8def' }],
      { labels: (v) => usd(v) },
    ),
    420,
    240,
  );
  const perMillion = figure(
    'cost-per-1m',
    `Routing cost per 1M queries at the measured mean tokens; student ${percent(report.savings.costReduction)} cheaper.`,
    groupedBars(
      report.table.map((r) => r.model),
      [
        {
          name: 'USD per 1M queries',
          values: report.table.map((r) => r.costPer1MQueriesUsd),
          colour: '#5b8def',
        },
      ],
      { labels: (v) => usd(v) },
    ),
    420,
    240,
  );
  return `<section id="cost"><h2>Cost</h2>
<table><thead><tr><th>stage</th><th>USD</th><th>what it rests on</th></tr></thead><tbody>${stages}</tbody></table>
${studentTokensTable(f)}
<div class="row">${stageChart}${perMillion}</div></section>`;
}

/** The student's tokens per held-out query as Bedrock billed them, next to the cost model's estimate. */
function studentTokensTable(f: ReportFigures): string {
  const t = f.studentTokens;
  if (!t) return '';
  const n = (x: number) => x.toFixed(1);
  const row = (what: string, measured: number, estimate: number) =>
    `<tr><td>${what}</td><td class="num">${n(measured)}</td><td class="num">${n(estimate)}</td></tr>`;
  return `<table data-table="student-tokens"><caption>Student tokens per query on the held-out set (${escapeHtml(t.promptVersion)} answers)</caption>
<thead><tr><th></th><th>measured (Bedrock usage)</th><th>cost model estimate</th></tr></thead><tbody>
${row('input', t.measured.inputTokens, t.estimate.inputTokens)}${row('output', t.measured.outputTokens, t.estimate.outputTokens)}
</tbody></table>
<p class="muted">The estimate counts the prompt, a mean query and the answer with a BPE tokenizer standing in for Nova's
(npm run token-counts); Bedrock's count adds the chat template. A measured output far above the estimate means the
student answers beyond its format.</p>`;
}

function comparedSection(compared: readonly ComparedModel[], report: RunReport): string {
  if (compared.length === 0) return '';
  const student = report.table.find((r) => r.model === 'student');
  const rows = [
    student && {
      role: 'candidate (this run)',
      modelId: student.modelId,
      judgeScore: student.judgeScore,
      dominantAgreement: student.dominantAgreement,
      validReplyRate: student.validReplyRate,
      latencyMeanMs: student.latencyMeanMs,
      latencyP95Ms: student.latencyP95Ms,
      costPer1MQueriesUsd: student.costPer1MQueriesUsd ?? undefined,
      trafficShare: undefined,
      label: report.runId,
    },
    ...compared,
  ]
    .filter((r) => r !== undefined)
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.role)}${r.label ? `<br><span class="muted">${escapeHtml(r.label)}</span>` : ''}</td>` +
        `<td><code class="small">${escapeHtml(r.modelId)}</code></td>` +
        `<td class="num">${r.judgeScore === undefined ? 'n/a' : fixed(r.judgeScore, 2)}</td>` +
        `<td class="num">${percent(r.dominantAgreement)}</td><td class="num">${percent(r.validReplyRate)}</td>` +
        `<td class="num">${ms(r.latencyMeanMs)}</td><td class="num">${ms(r.latencyP95Ms)}</td>` +
        `<td class="num">${r.costPer1MQueriesUsd === undefined ? 'n/a' : usd(r.costPer1MQueriesUsd)}</td>` +
        `<td class="num">${r.trafficShare === undefined ? '' : percent(r.trafficShare)}</td></tr>`,
    )
    .join('');
  return `<section id="compared"><h2>Canary and incumbent</h2>
<table><thead><tr><th>who</th><th>model</th><th>judge</th><th>dominant agreement</th><th>valid replies</th>
<th>latency mean</th><th>latency p95</th><th>cost per 1M</th><th>traffic share</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The table "Labelling calibration": each batch size against single labels, the chosen one marked. */
function calibrationSection(f: ReportFigures): string {
  const c = f.calibration;
  if (!c) return '';
  const rows = c.rows
    .map(
      (r) =>
        `<tr${r.chosen ? ' class="pass"' : ''}><td class="num">${r.size}</td><td class="num">${percent(r.agreement)}</td>` +
        `<td class="num">${r.meanAbsoluteError === null ? 'n/a' : fixed(r.meanAbsoluteError, 3)}</td>` +
        `<td class="num">${r.reasked.missing + r.reasked.duplicate + r.reasked.unparsable}</td>` +
        `<td class="num">${fixed(r.inputTokensPerQuery, 1)}</td>` +
        `<td class="verdict">${r.chosen ? 'chosen' : ''}</td></tr>`,
    )
    .join('');
  const table =
    c.rows.length === 0
      ? ''
      : `<table data-table="calibration"><thead><tr><th>batch size</th><th>agreement</th><th>mean weight error</th>` +
        `<th>re-asked</th><th>input tokens per query</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
  return `<section id="calibration"><h2>Labelling calibration</h2>
<p>The teacher labelled <strong>${c.labelBatchSize}</strong> ${c.labelBatchSize === 1 ? 'query' : 'queries'} per call${
    c.calibrated ? '' : ' (not calibrated)'
  }: ${escapeHtml(c.reason)}.</p>${table}</section>`;
}

/**
 * Every candidate side by side (one column each, the winner marked), why the winner won, the dropped ones with their
 * cause, then one small block of charts per evaluated candidate.
 */
function candidatesSection(f: ReportFigures): string {
  const { report } = f;
  const { candidates } = report;
  if (!candidates || candidates.length === 0) return '';
  const cellClass = (i: number) => {
    const c = candidates[i];
    return c?.status === 'evaluated' && c.winner
      ? ' class="winner"'
      : c?.status === 'dropped'
        ? ' class="dropped"'
        : '';
  };
  const head = candidates
    .map((c, i) => {
      const mark = candidateMark(c);
      return (
        `<th data-candidate="${escapeHtml(c.name)}"${cellClass(i)}>${escapeHtml(c.name)}` +
        `${mark ? `<br><span class="mark">${escapeHtml(mark)}</span>` : ''}</th>`
      );
    })
    .join('');
  const rows = candidateTableRows(candidates)
    .map(
      (row) =>
        `<tr><th scope="row">${escapeHtml(row.label)}</th>` +
        row.cells.map((cell, i) => `<td${cellClass(i)}>${escapeHtml(cell)}</td>`).join('') +
        '</tr>',
    )
    .join('');
  const verdict = selectionVerdict(report);
  const dropped = candidates.filter((c): c is DroppedCandidateRow => c.status === 'dropped');
  const droppedList =
    dropped.length === 0
      ? ''
      : `<h3>Dropped before their gate</h3><ul class="dropped">${dropped
          .map((c) => `<li data-dropped="${escapeHtml(c.name)}">${escapeHtml(droppedLine(c))}</li>`)
          .join('')}</ul>`;
  const blocks = (f.candidates ?? [])
    .map((c) => {
      const confusion = c.confusion
        ? figure(
            `confusion-candidate-${c.name}`,
            `${c.name}: dominant modality vs teacher (${c.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0)} on ` +
              'the diagonal).',
            confusionChart(c.confusion, COLOURS.student),
            380,
            240,
          )
        : note(`${c.name}: its per-query answers were not found, so no confusion matrix is shown.`);
      const judge = c.judgeHistogram
        ? figure(
            `judge-candidate-${c.name}`,
            `${c.name}: judge scores (1–5).`,
            groupedBars(
              ['1', '2', '3', '4', '5'],
              [{ name: c.name, values: c.judgeHistogram, colour: COLOURS.student }],
              {
                yName: 'records',
              },
            ),
            300,
            240,
          )
        : note(`${c.name}: judge scores kept as a mean only.`);
      return (
        `<div class="candidate" data-candidate-block="${escapeHtml(c.name)}"><h3>${escapeHtml(c.name)}</h3>` +
        `<div class="row">${confusion}${judge}</div></div>`
      );
    })
    .join('');
  return `<section id="candidates"><h2>Candidates</h2>
${verdict ? `<p class="why" data-selection>${escapeHtml(verdict)}</p>` : ''}
<div class="scroll"><table class="candidates" data-table="candidates"><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table></div>
${droppedList}<div class="row">${blocks}</div></section>`;
}

/** The whole page. */
export function renderHtml(f: ReportFigures): string {
  const { report } = f;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Intent router run ${escapeHtml(report.runId)}: ${report.outcome}</title>
<style>${STYLE}</style></head>
<body>
${header(report)}
${candidatesSection(f)}
${gateSection(report)}
${datasetSection(f)}
${calibrationSection(f)}
${qualitySection(f)}
${latencySection(f)}
${costSection(f)}
${comparedSection(f.compared, report)}
</body></html>
`;
}
