import { MODALITIES } from '../../core/modality';
import { readManifestCalibration } from '../generation/calibration';
import {
  chosenCandidate,
  studentTokensOf,
  type CandidateRow,
  type DroppedCandidateRow,
  type EvaluatedCandidateRow,
  type ReportedModel,
  type RunReport,
} from './run-report';
import type { GateCheck, GateComparisonStatistic } from '../gate/gate-rules';
import type { CanaryCheck } from '../rollout/result';

/**
 * The run report as text: `report.md` (the comparison table, the dataset's figures from the manifest, every gate
 * check with its value and verdict) and the SNS summary. The figures themselves are run-report.ts.
 */

const fixed = (x: number, digits: number) => x.toFixed(digits);
const percent = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;
const usd = (x: number | null) =>
  x === null ? 'price unknown (set `prices`)' : `$${x.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;

/** Renders a manifest value compactly: numbers and strings as they are, flat objects as `key: value` lists. */
function manifestValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : fixed(value, 4);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(manifestValue).join(', ');
  if (typeof value === 'object') {
    const entries: [string, unknown][] = Object.entries(value);
    return entries
      .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : manifestValue(v)}`)
      .join('; ');
  }
  return JSON.stringify(value);
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const count = (x: number) => Math.round(x).toLocaleString('en-US');

/** The canary's traffic against what promotion needs, as Check canary counted it once the window was over. */
export const canaryTrafficFigures = (traffic: NonNullable<CanaryCheck['traffic']>) =>
  `${count(traffic.queries)} queries (canaryMinQueries ${count(traffic.minQueries)}) and ` +
  `${count(traffic.shadowSamples)} shadow samples (canaryShadowMinSamples ${count(traffic.minShadowSamples)})`;

/**
 * Why an inconclusive canary decided nothing, with its figures (lower case, no final stop), or undefined when the
 * canary did not end inconclusive.
 */
export function inconclusiveCanaryText(canary: CanaryCheck | undefined): string | undefined {
  if (canary?.outcome !== 'inconclusive') return undefined;
  const quiet = `no alarm fired in ${canary.elapsedMinutes} min, but `;
  return canary.traffic
    ? `${quiet}by canaryMaxMinutes ${canary.traffic.maxMinutes} the candidate had ` +
        `${canaryTrafficFigures(canary.traffic)}, too few to judge it`
    : `${quiet}the candidate had too little traffic to judge it (${canary.summary})`;
}

/** What to do after an inconclusive canary that kept the incumbent. */
const INCONCLUSIVE_NEXT =
  'To judge the candidate on more traffic, raise canaryShare or canaryMaxMinutes (or lower canaryMinQueries, ' +
  "canaryShadowMinSamples), deploy, and start a run with --reuse-model <this run's custom model ARN>.";

/** The first sentence of the report: what happened to the candidate (Markdown, with `**` emphasis). */
function outcomeSentence(report: RunReport): string {
  const { promotion, gate } = report;
  const { canary } = promotion;
  const inconclusive = inconclusiveCanaryText(canary);
  const chosen = chosenCandidate(report);
  const student = chosen ? `The winner, candidate \`${chosen.name}\`,` : 'The distilled student';
  switch (report.outcome) {
    case 'PROMOTED':
      return (
        `${student} passed the gate${canary && !inconclusive ? ' and its canary' : ''} and is now the ` +
        `active model (\`${promotion.parameterName ?? ''}\`` +
        `${promotion.version !== undefined ? ` version ${promotion.version}` : ''})` +
        (inconclusive
          ? `, although its canary was **inconclusive**: ${inconclusive} (canaryInconclusive promote).`
          : '.')
      );
    case 'CANARY_INCONCLUSIVE':
      return (
        `${student} passed the gate, but its canary was **inconclusive**: ${inconclusive ?? ''}. The ` +
        `incumbent (run \`${canary?.incumbent.runId ?? '?'}\`) is kept (canaryInconclusive keepIncumbent). ` +
        INCONCLUSIVE_NEXT
      );
    case 'ROLLED_BACK':
      return `${student} passed the gate but was **rolled back** during its canary: ${canary?.summary ?? ''}.`;
    case 'REJECTED':
      return chosen
        ? `No candidate passed its gate: **nothing was promoted**. The best evaluated, \`${chosen.name}\`, was ` +
            `${gate.summary}.`
        : `The distilled student was **not promoted**: ${gate.summary}.`;
  }
}

/**
 * What the single-student sections call the model they describe: the chosen candidate's name and why it is the one
 * shown, or undefined for a run without candidates.
 */
export function chosenLabel(report: RunReport): string | undefined {
  const chosen = chosenCandidate(report);
  if (!chosen) return undefined;
  return `${chosen.name} (${chosen.winner ? 'the winner' : 'the best evaluated candidate, not promoted'})`;
}

const dash = '—';
const optional = <T>(x: T | null | undefined, show: (v: T) => string) =>
  x === null || x === undefined ? dash : show(x);

/**
 * The figures of the candidates table, one line per figure (report.md and report.html share them): each a label and
 * the text of each candidate's cell, so that both formats show the same thing side by side.
 */
export function candidateTableRows(
  candidates: readonly CandidateRow[],
): readonly { readonly label: string; readonly cells: readonly string[] }[] {
  const evaluatedFigure = (f: (c: EvaluatedCandidateRow) => string) =>
    candidates.map((c) => (c.status === 'evaluated' ? f(c) : dash));
  return [
    { label: 'method', cells: candidates.map((c) => c.method) },
    { label: 'base model', cells: candidates.map((c) => c.baseModelId) },
    { label: 'prompt version', cells: candidates.map((c) => c.promptVersion) },
    {
      label: 'status',
      cells: candidates.map((c) => (c.status === 'evaluated' ? 'evaluated' : `dropped at ${c.failure.step}`)),
    },
    { label: 'rank', cells: evaluatedFigure((c) => optional(c.rank, String)) },
    { label: 'gate', cells: evaluatedFigure((c) => c.gate.verdict) },
    {
      label: 'failed checks',
      cells: evaluatedFigure((c) => (c.gate.failedChecks.length ? c.gate.failedChecks.join(', ') : 'none')),
    },
    { label: 'dominant agreement', cells: evaluatedFigure((c) => percent(c.dominantAgreement)) },
    { label: 'judge mean (1–5)', cells: evaluatedFigure((c) => fixed(c.judgeMean, 2)) },
    {
      label: 'judge scores 1/2/3/4/5',
      cells: evaluatedFigure((c) => optional(c.judgeHistogram, (h) => h.join(' / '))),
    },
    { label: 'valid replies', cells: evaluatedFigure((c) => percent(c.validReplyRate)) },
    { label: 'mean abs. weight error', cells: evaluatedFigure((c) => optional(c.weightError, (x) => fixed(x, 3))) },
    { label: 'latency p50 / p95', cells: evaluatedFigure((c) => `${ms(c.latencyP50Ms)} / ${ms(c.latencyP95Ms)}`) },
    {
      label: 'tokens in / out (mean)',
      cells: evaluatedFigure((c) => `${fixed(c.meanInputTokens, 1)} / ${fixed(c.meanOutputTokens, 1)}`),
    },
    { label: 'cost per 1M queries', cells: evaluatedFigure((c) => candidateUsd(c.costPer1MQueriesUsd)) },
    { label: 'training job', cells: evaluatedFigure((c) => c.trainingJobArn ?? (c.modelArn ? 'reused model' : dash)) },
    { label: 'why this place', cells: evaluatedFigure((c) => c.why) },
  ];
}

const candidateUsd = (x: number | null) => (x === null ? 'price unknown' : `$${x.toFixed(2)}`);

/** How a candidate's column is headed: its name, and the winner (or the chosen one) marked. */
export const candidateMark = (c: CandidateRow): string =>
  c.status === 'evaluated' && c.winner
    ? '★ winner'
    : c.status === 'evaluated' && c.chosen
      ? 'best evaluated, not promoted'
      : c.status === 'dropped'
        ? 'dropped'
        : '';

/** Why the winner won (the selection's reason and the winner's own line), or why none did. */
export function selectionVerdict(report: RunReport): string | undefined {
  const { selection, candidates } = report;
  if (!selection) return undefined;
  const winner = candidates?.find(
    (c): c is EvaluatedCandidateRow => c.status === 'evaluated' && c.name === selection.winner,
  );
  // The selection's reason names the winner and usually holds its `why` already: say it once.
  if (!winner || selection.reason.includes(winner.why)) return `${selection.reason}.`;
  return `${selection.reason}. ${winner.name}: ${winner.why}.`;
}

const capitalise = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

/** A dropped candidate in one line: where it stopped and Step Functions' error and cause. */
export const droppedLine = (c: DroppedCandidateRow) =>
  `${c.name} at ${c.failure.step}: ${c.failure.error}: ${c.failure.cause}`;

function candidatesMarkdown(report: RunReport): string[] {
  const { candidates } = report;
  if (!candidates || candidates.length === 0) return [];
  const lines = ['## Candidates', ''];
  const verdict = selectionVerdict(report);
  if (verdict) lines.push(`Why: ${escapeCell(verdict)}`, '');
  const header = candidates.map((c) => {
    const mark = candidateMark(c);
    return `**\`${c.name}\`**${mark ? ` ${mark}` : ''}`;
  });
  lines.push(`| | ${header.join(' | ')} |`, `|---|${candidates.map(() => '---').join('|')}|`);
  for (const row of candidateTableRows(candidates)) {
    lines.push(`| ${row.label} | ${row.cells.map(escapeCell).join(' | ')} |`);
  }
  lines.push('');
  const dropped = candidates.filter((c): c is DroppedCandidateRow => c.status === 'dropped');
  if (dropped.length > 0) {
    lines.push('Dropped before their gate:', '', ...dropped.map((c) => `- ${escapeCell(droppedLine(c))}`), '');
  }
  return lines;
}

export function renderMarkdown(report: RunReport): string {
  const lines: string[] = [];
  const { gate } = report;
  lines.push(`# Intent router run \`${report.runId}\`: ${report.outcome}`, '');
  const { canary } = report.promotion;
  lines.push(
    outcomeSentence(report),
    '',
    `Generated ${report.generatedAt}. Judge: \`${report.judgeModelId}\` (1–5 weight-accuracy rubric).`,
    '',
    ...candidatesMarkdown(report),
  );

  const chosen = chosenLabel(report);
  lines.push(`## Student${chosen ? ` ${chosen}` : ''} vs baseline (held-out queries)`, '');
  lines.push(
    '| model | judge score (1–5) | valid replies | dominant agreement | mean abs. error | latency mean | latency p95 | cost per 1M queries |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of report.table) {
    lines.push(
      `| ${r.model} (\`${r.modelId}\`) | ${fixed(r.judgeScore, 2)} | ${percent(r.validReplyRate)} | ` +
        `${percent(r.dominantAgreement)} | ${r.meanAbsoluteError === null ? 'n/a' : fixed(r.meanAbsoluteError, 3)} | ` +
        `${ms(r.latencyMeanMs)} | ${ms(r.latencyP95Ms)} | ${usd(r.costPer1MQueriesUsd)} |`,
    );
  }
  lines.push(
    '',
    `Savings against the baseline: cost ${percent(report.savings.costReduction)}, mean latency ` +
      `${percent(report.savings.meanLatencyReduction)}; judge score difference ` +
      `${report.savings.judgeScoreDifference >= 0 ? '+' : ''}${fixed(report.savings.judgeScoreDifference, 2)}.`,
    '',
  );

  const tokens = studentTokensOf(report);
  if (tokens) {
    lines.push(
      `Student tokens per held-out query (${tokens.promptVersion} answers): ${fixed(tokens.measured.inputTokens, 1)} in, ` +
        `${fixed(tokens.measured.outputTokens, 1)} out as Bedrock counted them; the cost model estimates ` +
        `${fixed(tokens.estimate.inputTokens, 1)} in, ${fixed(tokens.estimate.outputTokens, 1)} out (\`npm run cost\`).`,
      '',
    );
  }

  lines.push('Mean absolute error per modality (student / baseline):', '');
  lines.push(`| ${MODALITIES.join(' | ')} |`, `|${MODALITIES.map(() => '---').join('|')}|`);
  const mae = (m: ReportedModel, k: (typeof MODALITIES)[number]) => {
    const v = m.metrics.meanAbsoluteError[k];
    return v === null ? 'n/a' : fixed(v, 3);
  };
  lines.push(`| ${MODALITIES.map((k) => `${mae(report.student, k)} / ${mae(report.baseline, k)}`).join(' | ')} |`, '');

  // Candidate, incumbent and baseline side by side (the Gate step records the figures it compared).
  const comparison = gate.comparison;
  if (comparison) {
    const sets = comparison.heldOut.production > 0;
    lines.push('## Candidate, incumbent and baseline (same held-out sets)', '');
    lines.push(
      `Held-out queries: ${comparison.heldOut.synthetic} in the test set` +
        (sets ? ` and ${comparison.heldOut.production} in production's held-out slice.` : '.'),
      '',
    );
    if (comparison.incumbentNote) lines.push(`No incumbent compared: ${escapeCell(comparison.incumbentNote)}.`, '');
    lines.push(
      `| model | judge score (1–5) | dominant agreement${sets ? ' (test set / production)' : ''} | valid replies | ` +
        'mean abs. error | latency mean |',
      '|---|---|---|---|---|---|',
    );
    for (const m of comparison.models) {
      const bySet = m.agreementBySet
        ? ` (${percent(m.agreementBySet.synthetic ?? null)} / ${percent(m.agreementBySet.production ?? null)})`
        : '';
      lines.push(
        `| ${m.role} (\`${m.modelId}\`${m.runId ? `, run \`${m.runId}\`` : ''}) | ${fixed(m.judgeScore, 2)} | ` +
          `${percent(m.dominantAgreement)}${bySet} | ${percent(m.validReplyRate)} | ` +
          `${m.meanAbsoluteError === null ? 'n/a' : fixed(m.meanAbsoluteError, 3)} | ${ms(m.latencyMeanMs)} |`,
      );
    }
    lines.push('');
  }

  lines.push(`## Gate${chosen ? `: ${chosen}` : ''}`, '');
  if (gate.verdict) lines.push(`Verdict: **${gate.verdict}** — ${escapeCell(gate.summary)}.`, '');
  lines.push('| check | value | threshold | verdict |', '|---|---|---|---|');
  for (const c of gate.checks) {
    lines.push(
      `| \`${c.name}\` (${escapeCell(c.description)}) | ${fixed(c.value, 3)} | ${c.comparison} ${c.threshold} | ` +
        `${checkVerdict(c)} |`,
    );
  }
  lines.push('');
  if (gate.statistics && gate.statistics.length > 0) {
    lines.push(
      '### Paired comparison with the incumbent (same held-out queries)',
      '',
      '| figure | test | queries | drop (incumbent − candidate) | upper bound | margin | p (worse) | verdict | queries to decide |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const st of gate.statistics) {
      const discordant = st.discordant
        ? ` (only candidate right ${st.discordant.candidateOnly}, only incumbent ${st.discordant.otherOnly})`
        : '';
      lines.push(
        `| ${STATISTIC_NAMES[st.metric]}${st.gating ? '' : ' (reported, not gated)'} | ${st.test}${discordant} | ` +
          `${st.queries} | ${fixed(st.observedDrop, 4)} | ${fixed(st.upperBound, 4)} at ${fixed(st.confidence * 100, 1)} % | ` +
          `${st.margin} | ${fixed(st.pValue, 4)} | ${st.verdict} | ${st.queriesToDecide ?? '—'} |`,
      );
    }
    lines.push('');
  }

  if (canary) {
    lines.push('## Canary', '');
    lines.push(
      `- outcome: **${canary.outcome ?? 'unfinished'}** after ${canary.elapsedMinutes} min at ` +
        `${(canary.share * 100).toFixed(1)} % of live traffic (started ${canary.startedAt})`,
      `- incumbent: run \`${canary.incumbent.runId}\` (\`${canary.incumbent.deploymentArn}\`)`,
      `- active-model parameter: \`${canary.parameterName}\` version ${canary.version}`,
      ...(canary.traffic
        ? [
            `- candidate traffic: ${canaryTrafficFigures(canary.traffic)}, canaryMaxMinutes ` +
              `${canary.traffic.maxMinutes}`,
          ]
        : []),
      `- ${escapeCell(canary.summary)}`,
      '',
      '| alarm (candidate variant) | state at the last check | reason (CloudWatch) |',
      '|---|---|---|',
    );
    for (const a of canary.alarms) {
      const fired = canary.firing.includes(a.name);
      lines.push(`| \`${a.name}\` | ${fired ? `**${a.state}**` : a.state} | ${escapeCell(a.reason)} |`);
    }
    lines.push('');
  }

  lines.push('## Dataset', '');
  lines.push(
    `- training records: ${report.dataset.trainCount.toLocaleString('en-US')} (\`${report.dataset.trainKey}\`)`,
    `- held-out records: ${report.dataset.testCount.toLocaleString('en-US')} (\`${report.dataset.testKey}\`)`,
  );
  const calibration = readManifestCalibration(report.dataset.manifest?.['calibration']);
  for (const [key, value] of Object.entries(report.dataset.manifest ?? {})) {
    if (key === 'calibration' && calibration) continue; // its own table below
    const text = manifestValue(value);
    if (text !== '') lines.push(`- ${key}: ${escapeCell(text)}`);
  }
  lines.push('');
  if (calibration) {
    lines.push(
      `Labelling calibration: ${calibration.labelBatchSize} ${calibration.labelBatchSize === 1 ? 'query' : 'queries'} ` +
        `per teacher call — ${escapeCell(calibration.reason)}`,
      '',
    );
    if (calibration.table.length > 0) {
      lines.push(
        '| queries per call | agreement with single labels | mean weight error | re-asked | input tokens per query | chosen |',
        '|---|---|---|---|---|---|',
      );
      for (const row of calibration.table) {
        const reasked = row.reasked.missing + row.reasked.duplicate + row.reasked.unparsable;
        lines.push(
          `| ${row.size} | ${percent(row.agreement)} | ${row.meanAbsoluteError === null ? 'n/a' : fixed(row.meanAbsoluteError, 3)} | ` +
            `${reasked} | ${fixed(row.inputTokensPerQuery, 1)} | ${row.size === calibration.labelBatchSize ? '✓' : ''} |`,
        );
      }
      lines.push('');
    }
  }

  lines.push('## Resources', '');
  lines.push(
    `- custom model: \`${report.distillation.modelArn}\`${report.distillation.reused ? ' (reused, not trained by this run)' : ''}`,
  );
  if (report.distillation.jobArn) {
    lines.push(`- ${chosen ? 'training' : 'distillation'} job: \`${report.distillation.jobArn}\``);
  }
  lines.push(
    `- deployment: \`${report.deployment.deploymentArn}\`${report.deployment.reused ? ' (existing deployment reused)' : ''}`,
    '',
  );
  return lines.join('\n');
}

/**
 * The SNS notification: a subject within SNS's 100 characters and a short plain-text body; `chartsUri` names the HTML
 * report (an S3 key rather than a presigned URL: it never expires and needs no signing permission).
 */
export function snsSummary(
  report: RunReport,
  reportUri: string,
  chartsUri?: string,
): { subject: string; message: string } {
  const student = report.table[0];
  const baseline = report.table[1];
  const { selection } = report;
  const who = selection ? (selection.winner ? `, winner ${selection.winner}` : ', no candidate passed') : '';
  const subject = `Intent router run ${report.runId}: ${report.outcome}${who}`.slice(0, 100);
  const { canary } = report.promotion;
  const inconclusive = inconclusiveCanaryText(canary);
  const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  const lines = [`Run ${report.runId}: ${report.outcome}.`, ...candidatesSummary(report)];
  switch (report.outcome) {
    case 'PROMOTED':
      lines.push(
        `The student is now the active model (${report.promotion.parameterName ?? 'active-model parameter'}).`,
      );
      if (inconclusive) {
        lines.push(`Promoted although the canary was inconclusive (canaryInconclusive promote): ${inconclusive}.`);
      }
      break;
    case 'CANARY_INCONCLUSIVE':
      lines.push(
        `Canary inconclusive: the incumbent (run ${canary?.incumbent.runId ?? '?'}) is kept. ` +
          sentence(inconclusive ?? 'too little traffic to judge the candidate'),
        INCONCLUSIVE_NEXT,
      );
      break;
    case 'ROLLED_BACK':
      lines.push(`Rolled back to the incumbent (run ${canary?.incumbent.runId ?? '?'}) during the canary.`);
      break;
    case 'REJECTED':
      lines.push(`Not promoted. Gate ${report.gate.summary}.`);
      break;
  }
  // The canary's own words: which alarm fired and its figures (CloudWatch's StateReason), or how long it stayed quiet.
  if (canary) lines.push(`Canary: ${canary.outcome ?? 'unfinished'}, ${canary.summary}.`);
  lines.push('');
  if (student && baseline) {
    const chosen = chosenCandidate(report);
    if (chosen) lines.push(`Held-out figures of ${chosenLabel(report) ?? chosen.name}:`);
    lines.push(
      `Judge score: student ${fixed(student.judgeScore, 2)} vs baseline ${fixed(baseline.judgeScore, 2)}.`,
      `Latency mean / p95: student ${ms(student.latencyMeanMs)} / ${ms(student.latencyP95Ms)}, baseline ` +
        `${ms(baseline.latencyMeanMs)} / ${ms(baseline.latencyP95Ms)}.`,
      `Cost per 1M queries: student ${usd(student.costPer1MQueriesUsd)}, baseline ${usd(baseline.costPer1MQueriesUsd)} ` +
        `(savings ${percent(report.savings.costReduction)}).`,
      `Dominant agreement ${percent(student.dominantAgreement)}, valid replies ${percent(student.validReplyRate)}.`,
    );
  }
  lines.push('', `Report: ${reportUri}`);
  if (chartsUri) lines.push(`Report with charts: ${chartsUri}`);
  return { subject, message: lines.join('\n') };
}

/** The notification's lines on the candidates: the winner and why, the runners-up, or that none passed; the dropped. */
function candidatesSummary(report: RunReport): string[] {
  const { selection, candidates = [] } = report;
  if (!selection) return [];
  const evaluated = candidates.filter((c): c is EvaluatedCandidateRow => c.status === 'evaluated');
  const lines: string[] = [];
  const winner = evaluated.find((c) => c.name === selection.winner);
  if (winner) {
    lines.push(`Winner: ${winner.name} (${winner.method}, ${winner.promptVersion}): ${winner.why}.`);
    const runnersUp = selection.runnersUp
      .map((name) => evaluated.find((c) => c.name === name))
      .filter((c): c is EvaluatedCandidateRow => c !== undefined)
      .map((c) => `${c.name} (rank ${c.rank ?? '?'}, gate ${c.gate.verdict}: ${c.why})`);
    if (runnersUp.length > 0) lines.push(`Runners-up: ${runnersUp.join('; ')}.`);
  } else {
    lines.push(`${capitalise(selection.reason)}: nothing is promoted; the figures below are ${selection.chosen}'s.`);
  }
  const dropped = candidates.filter((c): c is DroppedCandidateRow => c.status === 'dropped');
  if (dropped.length > 0) lines.push(`Dropped: ${dropped.map(droppedLine).join('; ')}.`);
  return lines;
}

/** A paired comparison's figure as the report names it (report.md and report.html). */
export const STATISTIC_NAMES: Readonly<Record<GateComparisonStatistic['metric'], string>> = {
  judgeScore: 'judge score',
  dominantAgreement: 'dominant agreement',
  weightError: 'mean absolute weight error',
};

/** A check's verdict cell: pass, FAIL, or inconclusive (a paired comparison too close to call). */
export const checkVerdict = (c: GateCheck): string =>
  c.paired?.verdict === 'inconclusive'
    ? c.passed
      ? 'inconclusive (promoted anyway)'
      : '**inconclusive**'
    : c.passed
      ? 'pass'
      : '**FAIL**';
