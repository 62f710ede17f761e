import type { Template } from 'aws-cdk-lib/assertions';
import { synth } from '../helpers/app';

/**
 * The environment's dashboard (lib/constructs/router-dashboard.ts), read as CloudWatch gets it: the DashboardBody's
 * Fn::Join with each token (the Region, an alarm ARN) as a placeholder, parsed as JSON.
 */

interface Widget {
  readonly type: string;
  readonly width: number;
  readonly properties: {
    readonly title?: string;
    /** [namespace, metricName, dimension name, value, …, options] per line. */
    readonly metrics?: readonly (readonly (string | Record<string, unknown>)[])[];
    readonly annotations?: { readonly horizontal?: readonly { readonly value: number; readonly label?: string }[] };
  };
}

function dashboardWidgets(template: Template): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = (dashboards[0]?.['Properties'] as { DashboardBody: unknown }).DashboardBody;
  const join = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(join[0]);
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

const byTitle = (widgets: Widget[], title: string) => {
  const found = widgets.filter((w) => w.properties.title === title);
  expect(found).toHaveLength(1);
  return found[0] as Widget;
};

describe('the dashboard: who answered the shadow-labelled queries', () => {
  const widgets = dashboardWidgets(synth({ envName: 'qa' }).templates.api);
  const widget = () => byTitle(widgets, 'Shadow: dominant agreement with the teacher, by who answered');

  it('graphs the labeller’s agreement by AnsweredBy: student (fresh or cached, the alarmed line), fallback model, default', () => {
    const lines = (widget().properties.metrics ?? []).map((line) => line.filter((part) => typeof part === 'string'));
    expect(lines).toEqual([
      ['DistilledIntentRouter', 'ShadowDominantAgreement', 'AnsweredBy', 'student', 'service', 'intent-router-shadow'],
      [
        'DistilledIntentRouter',
        'ShadowDominantAgreement',
        'AnsweredBy',
        'fallback-model',
        'service',
        'intent-router-shadow',
      ],
      ['DistilledIntentRouter', 'ShadowDominantAgreement', 'AnsweredBy', 'default', 'service', 'intent-router-shadow'],
    ]);
    const options = (widget().properties.metrics ?? []).map((line) => line.find((part) => typeof part === 'object'));
    // No `stat`: a graph's default, Average (the agreement rate); hourly, like the other shadow graphs.
    expect(options).toEqual([
      { label: 'student (fresh or cached; alarmed)', period: 3600 },
      { label: 'fallback model', period: 3600 },
      { label: 'default weights', period: 3600 },
    ]);
  });

  it('marks the threshold the agreement alarm uses (minDominantAgreement)', () => {
    expect(widget().properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: 0.85, label: 'minDominantAgreement' }),
    ]);
  });

  it('keeps every dashboard row within the 24-column grid', () => {
    const shadowRows = widgets.filter((w) => w.properties.title?.startsWith('Shadow:'));
    expect(shadowRows.reduce((sum, w) => sum + w.width, 0) % 24).toBe(0);
  });
});
