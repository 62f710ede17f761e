import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  GridComponent,
  LegendPlainComponent,
  MarkLineComponent,
  VisualMapContinuousComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { LegacyGridContainLabel } from 'echarts/features';
import { SVGRenderer } from 'echarts/renderers';
import type { EvaluatedModel } from '../../core/job-names';
import { MODALITIES } from '../../core/modality';
import { CASE_STUDY_LATENCY_MS, CONFUSION_COLUMNS } from './report-figures';

/**
 * The report page's charts: Apache ECharts rendered to SVG strings on the server (its SSR mode needs no DOM and no
 * canvas), the chart options the page draws, and the <figure> each chart sits in (report-html.ts lays out the page).
 */

export const COLOURS: Readonly<Record<EvaluatedModel, string>> = { student: '#2563c9', baseline: '#d9782d' };
export const SERIES_PALETTE = ['#8c96a8', '#5b8def', '#2563c9', '#1c3f80'];
export const TEXT = '#1f2933';
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

// Only what the charts below use (the full 'echarts' entry registers every chart, component and both renderers: ~570 KiB
// more in the Report bundle). LegacyGridContainLabel: echarts 6 needs it for `grid.containLabel`.
echarts.use([
  BarChart,
  LineChart,
  HeatmapChart,
  GridComponent,
  LegendPlainComponent,
  MarkLineComponent,
  VisualMapContinuousComponent,
  LegacyGridContainLabel,
  SVGRenderer,
]);

export type ChartOption = Parameters<echarts.ECharts['setOption']>[0];

/** One chart as an SVG string; disposed at once, since an SSR instance otherwise keeps a timer alive. */
export function svgChart(option: ChartOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: FONT, color: TEXT, fontSize: 12 }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A chart in a figure the tests (and a reader) can find by its id, as wide as the chart. */
export function figure(id: string, caption: string, option: ChartOption, width: number, height: number): string {
  return (
    `<figure data-chart="${id}" style="width:${width}px">${svgChart(option, width, height)}` +
    `<figcaption>${escapeHtml(caption)}</figcaption></figure>`
  );
}

export const grid = { left: 56, right: 16, top: 40, bottom: 40, containLabel: true };
export const legend = { top: 4, right: 16, itemGap: 14, textStyle: { fontSize: 12 } };

export function groupedBars(
  categories: readonly string[],
  series: readonly { name: string; values: readonly (number | null)[]; colour?: string }[],
  options: { yName?: string; horizontal?: boolean; labels?: (v: number) => string } = {},
): ChartOption {
  // interval 0: every category's label, never every other one.
  const categoryAxis = { type: 'category', data: [...categories], axisLabel: { fontSize: 12, interval: 0 } };
  const valueAxis = { type: 'value', name: options.yName, nameTextStyle: { fontSize: 12 } };
  return {
    legend: series.length > 1 ? legend : undefined,
    // SSR measures text roughly: room to spare on the left for long category labels.
    grid: options.horizontal ? { ...grid, left: 40, right: 56 } : grid,
    xAxis: options.horizontal ? valueAxis : categoryAxis,
    yAxis: options.horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
    series: series.map((s, i) => ({
      type: 'bar',
      name: s.name,
      data: [...s.values],
      itemStyle: { color: s.colour ?? SERIES_PALETTE[i % SERIES_PALETTE.length] },
      label: options.labels
        ? {
            show: true,
            position: options.horizontal ? 'right' : 'top',
            fontSize: 11,
            formatter: (p: { value: unknown }) => (typeof p.value === 'number' ? options.labels?.(p.value) : ''),
          }
        : undefined,
    })),
  };
}

export function confusionChart(matrix: readonly (readonly number[])[], colour: string): ChartOption {
  const data = matrix.flatMap((row, r) => row.map((count, c) => [c, r, count]));
  const max = Math.max(1, ...matrix.flat());
  return {
    grid: { left: 112, right: 16, top: 16, bottom: 56 },
    xAxis: {
      type: 'category',
      data: [...CONFUSION_COLUMNS],
      name: 'model says',
      nameLocation: 'middle',
      nameGap: 32,
      axisLabel: { interval: 0, fontSize: 11 },
      splitArea: { show: true },
    },
    yAxis: {
      type: 'category',
      data: [...MODALITIES],
      name: 'teacher says',
      nameLocation: 'middle',
      nameRotate: 90,
      nameGap: 92,
      inverse: true,
      splitArea: { show: true },
    },
    visualMap: { show: false, min: 0, max, inRange: { color: ['#f4f6fa', colour] } },
    series: [
      {
        type: 'heatmap',
        data,
        label: {
          show: true,
          fontSize: 12,
          formatter: (p: { value: unknown }) => (Array.isArray(p.value) ? String(p.value[2]) : ''),
        },
      },
    ],
  };
}

export function latencyChart(latencies: Readonly<Record<EvaluatedModel, readonly number[]>>): ChartOption {
  const cdf = (values: readonly number[]) => values.map((v, i) => [v, (i + 1) / values.length]);
  const reference = (model: EvaluatedModel) => ({
    xAxis: CASE_STUDY_LATENCY_MS[model],
    label: {
      formatter: `case study\n${CASE_STUDY_LATENCY_MS[model].toLocaleString('en-US')} ms`,
      fontSize: 11,
      color: COLOURS[model],
    },
  });
  return {
    legend,
    grid: { ...grid, top: 56 },
    xAxis: { type: 'value', name: 'ms', min: 0 },
    yAxis: { type: 'value', min: 0, max: 1, name: 'share of queries', axisLabel: { formatter: '{value}' } },
    series: (['student', 'baseline'] as const).map((model) => ({
      type: 'line',
      name: model,
      step: 'end',
      showSymbol: false,
      data: cdf(latencies[model]),
      lineStyle: { color: COLOURS[model], width: 2 },
      itemStyle: { color: COLOURS[model] },
      markLine: {
        symbol: 'none',
        silent: true,
        lineStyle: { type: 'dashed', color: COLOURS[model] },
        data: [reference(model)],
      },
    })),
  };
}
