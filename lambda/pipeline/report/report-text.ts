import { MODALITIES } from '../../core/modality';
import { readManifestCalibration } from '../generation/calibration';
import { studentTokensOf, type ReportedModel, type RunReport } from './run-report';
import type { GateCheck, GateComparisonStatistic } from '../gate/gate-rules';

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

export function renderMarkdown(report: RunReport): string {
  const lines: string[] = [];
  const { gate } = report;
  lines.push(`# Intent router run \`${report.runId}\`: ${report.outcome}`, '');
  const { canary } = report.promotion;
  lines.push(
    report.outcome === 'PROMOTED'
      ? `The distilled student passed the gate${canary ? ' and its canary' : ''} and is now the active model ` +
          `(\`${report.promotion.parameterName ?? ''}\`` +
          `${report.promotion.version !== undefined ? ` version ${report.promotion.version}` : ''}).`
      : report.outcome === 'ROLLED_BACK'
        ? `The distilled student passed the gate but was **rolled back** during its canary: ${canary?.summary ?? ''}.`
        : `The distilled student was **not promoted**: ${gate.summary}.`,
    '',
    `Generated ${report.generatedAt}. Judge: \`${report.judgeModelId}\` (1–5 weight-accuracy rubric).`,
    '',
  );

  lines.push('## Student vs baseline (held-out queries)', '');
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

  lines.push('## Gate', '');
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
  if (report.distillation.jobArn) lines.push(`- distillation job: \`${report.distillation.jobArn}\``);
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
  const subject = `Intent router run ${report.runId}: ${report.outcome}`.slice(0, 100);
  const { canary } = report.promotion;
  const lines = [
    `Run ${report.runId}: ${report.outcome}.`,
    report.outcome === 'PROMOTED'
      ? `The student is now the active model (${report.promotion.parameterName ?? 'active-model parameter'}).`
      : report.outcome === 'ROLLED_BACK'
        ? `Rolled back to the incumbent (run ${canary?.incumbent.runId ?? '?'}) during the canary.`
        : `Not promoted. Gate ${report.gate.summary}.`,
  ];
  // The canary's own words: which alarm fired and its figures (CloudWatch's StateReason), or how long it stayed quiet.
  if (canary) lines.push(`Canary: ${canary.outcome ?? 'unfinished'}, ${canary.summary}.`);
  lines.push('');
  if (student && baseline) {
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

const STATISTIC_NAMES: Readonly<Record<GateComparisonStatistic['metric'], string>> = {
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
