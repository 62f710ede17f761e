import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { synth } from '../helpers/app';

/**
 * The alarm tables of docs/production-loop.md and docs/canary.md against the synthesized alarms (default
 * configuration), so the pages cannot drift from what is deployed. A table is an alarm table when its header has the
 * columns `alarm`, `threshold`, `periods` and `minimum`:
 *
 * - alarm: the alarm's name in backticks (`<env>` for the environment), or the construct id of an alarm CloudFormation
 *   names (`ShadowHandoffFailures`); it must match exactly one alarm of the two stacks.
 * - threshold: the comparison and the threshold, `> 5 %`, `< 85 %`, `> 300 ms`, `> 0.1`; a percentage is the alarm's
 *   threshold itself when its metric is a percentage (`100 * …`), else a share (85 % is 0.85).
 * - periods: `<datapoints> of <evaluation periods> × <period>`, e.g. `3 of 3 × 1 min`, `1 of 1 × 24 h`.
 * - minimum: what a period needs before it may breach (`IF(n >= <minimum>, …)` in the alarm's metric math), or `—`.
 *
 * And every percentage or millisecond figure the row's other cells state must be one its threshold cell states.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const PAGES = ['docs/production-loop.md', 'docs/canary.md'];
const ENV = 'dev';

interface AlarmRow {
  readonly page: string;
  readonly name: string;
  readonly threshold: string;
  readonly periods: string;
  readonly minimum: string;
  /** The row's other cells (what it means, what to do). */
  readonly prose: string;
}

const cellsOf = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/** The rows of every alarm table of `page`. */
function alarmRows(page: string): AlarmRow[] {
  const lines = readFileSync(path.join(ROOT, page), 'utf8').split('\n');
  const rows: AlarmRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = cellsOf(lines[i] ?? '');
    if (!(lines[i] ?? '').trim().startsWith('|') || !/^\|[\s|:-]+\|$/.test((lines[i + 1] ?? '').trim())) continue;
    const at = (name: string) => header.indexOf(name);
    const columns = { alarm: at('alarm'), threshold: at('threshold'), periods: at('periods'), minimum: at('minimum') };
    if (Object.values(columns).some((c) => c < 0)) continue;
    for (let j = i + 2; (lines[j] ?? '').trim().startsWith('|'); j++) {
      const cells = cellsOf(lines[j] ?? '');
      const name = /`([^`]+)`/.exec(cells[columns.alarm] ?? '')?.[1];
      if (!name) throw new Error(`${page}:${j + 1}: an alarm table's row names no alarm in backticks`);
      rows.push({
        page: `${page}:${j + 1}`,
        name: name.replace('<env>', ENV),
        threshold: cells[columns.threshold] ?? '',
        periods: cells[columns.periods] ?? '',
        minimum: cells[columns.minimum] ?? '',
        prose: cells.filter((_, k) => !Object.values(columns).includes(k)).join(' | '),
      });
    }
  }
  return rows;
}

interface MetricQuery {
  readonly Expression?: string;
  readonly ReturnData?: boolean;
  readonly Period?: number;
  readonly MetricStat?: { readonly Period: number };
}
interface AlarmProperties {
  readonly AlarmName?: string;
  readonly ComparisonOperator: string;
  readonly Threshold: number;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly Period?: number;
  readonly Metrics?: readonly MetricQuery[];
}

/** Every alarm of both stacks, by logical id. */
function synthesizedAlarms(): [logicalId: string, AlarmProperties][] {
  const { templates } = synth({ envName: ENV });
  const of = (t: Template) =>
    Object.entries(t.findResources('AWS::CloudWatch::Alarm')).map(
      ([id, r]) => [id, r['Properties'] as AlarmProperties] as [string, AlarmProperties],
    );
  return [...of(templates.pipeline), ...of(templates.api)];
}

/** The one alarm a row names: by its name, by the end of its name, else by its construct id. */
function alarmNamed(alarms: [string, AlarmProperties][], name: string): AlarmProperties {
  const matches = [
    alarms.filter(([, a]) => a.AlarmName === name),
    alarms.filter(([, a]) => a.AlarmName?.endsWith(`-${name}`)),
    alarms.filter(([id, a]) => a.AlarmName === undefined && id.includes(name)),
  ].find((m) => m.length > 0);
  if (matches?.length !== 1) throw new Error(`"${name}" names ${matches?.length ?? 0} alarms, not one`);
  return (matches[0] as [string, AlarmProperties])[1];
}

const OPERATORS: Readonly<Record<string, string>> = {
  '>': 'GreaterThanThreshold',
  '≥': 'GreaterThanOrEqualToThreshold',
  '<': 'LessThanThreshold',
  '≤': 'LessThanOrEqualToThreshold',
};
const SECONDS: Readonly<Record<string, number>> = { min: 60, h: 3600 };
const figure = (text: string) => Number(text.replace(/,/g, ''));

/** The alarm's figures as a row would state them, from the template. */
function synthesizedFigures(alarm: AlarmProperties, row: AlarmRow) {
  const threshold = /^([<>≤≥])\s*([\d.,]+)\s*(%|ms)?/.exec(row.threshold);
  if (!threshold) throw new Error(`${row.page}: threshold "${row.threshold}" is not "<op> <number>[ %| ms]"`);
  const [, op = '', value = '', unit] = threshold;
  const expressions = (alarm.Metrics ?? []).map((m) => m.Expression ?? '').join(' ');
  const inPercent = /\b100 \*/.test(expressions);
  const period =
    alarm.Period ??
    (alarm.Metrics ?? []).find((m) => m.ReturnData !== false)?.Period ??
    Math.max(...(alarm.Metrics ?? []).map((m) => m.MetricStat?.Period ?? 0));
  const periods = /^(\d+) of (\d+) × (\d+) (min|h)\b/.exec(row.periods);
  if (!periods) throw new Error(`${row.page}: periods "${row.periods}" is not "<m> of <n> × <period> min|h"`);
  const minimum = /^([\d,]+)/.exec(row.minimum)?.[1];
  return {
    documented: {
      operator: OPERATORS[op],
      threshold: unit === '%' && !inPercent ? figure(value) / 100 : figure(value),
      datapoints: figure(periods[1] ?? ''),
      evaluationPeriods: figure(periods[2] ?? ''),
      periodSeconds: figure(periods[3] ?? '') * (SECONDS[periods[4] ?? ''] ?? NaN),
      minimumGuard: minimum === undefined ? undefined : `>= ${figure(minimum)}`,
    },
    synthesized: {
      operator: alarm.ComparisonOperator,
      threshold: alarm.Threshold,
      datapoints: alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods,
      evaluationPeriods: alarm.EvaluationPeriods,
      periodSeconds: period,
      minimumGuard: minimum === undefined ? undefined : expressions.match(/>= \d+/)?.[0],
    },
  };
}

describe('the alarm tables of the docs', () => {
  const alarms = synthesizedAlarms();
  const rows = PAGES.flatMap(alarmRows);

  it('finds the alarm tables: the production loop’s, and the canary’s on both pages', () => {
    const names = (page: string) => rows.filter((r) => r.page.startsWith(page)).map((r) => r.name);
    expect(names('docs/production-loop.md')).toEqual([
      `intent-router-${ENV}-shadow-agreement`,
      `intent-router-${ENV}-shadow-drift`,
      `intent-router-${ENV}-shadow-labeller-failures`,
      `intent-router-${ENV}-shadow-dead-letters`,
      'ShadowHandoffFailures',
      'InvalidReplies',
      'Fallbacks',
      'LatencyP99',
      'ShadowAgreement',
    ]);
    expect(names('docs/canary.md')).toEqual(['InvalidReplies', 'Fallbacks', 'LatencyP99', 'ShadowAgreement']);
  });

  it.each(rows.map((r) => [`${r.page} ${r.name}`, r] as const))(
    '%s: threshold, periods and minimum are the synthesized alarm’s',
    (_, row) => {
      const { documented, synthesized } = synthesizedFigures(alarmNamed(alarms, row.name), row);
      expect(documented).toEqual(synthesized);
    },
  );

  it.each(rows.map((r) => [`${r.page} ${r.name}`, r] as const))(
    '%s: every percentage and millisecond figure of the row is one its threshold states',
    (_, row) => {
      const figures = (text: string) => [...text.matchAll(/(\d[\d,.]*)\s*(%|ms)/g)].map((m) => `${m[1]} ${m[2]}`);
      const stated = new Set(figures(row.threshold));
      expect(figures(row.prose).filter((f) => !stated.has(f))).toEqual([]);
    },
  );
});
