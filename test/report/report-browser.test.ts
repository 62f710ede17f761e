import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetFoundationModelCommand, type GetFoundationModelCommandInput } from '@aws-sdk/client-bedrock';
import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import puppeteer from 'puppeteer-core';
import { logger, metrics } from '../../lambda/core/runtime';
import { MODALITIES, type Modality } from '../../lambda/core/modality';
import type { RunReport } from '../../lambda/pipeline/report/run-report';
import { reportHtmlKey } from '../../lambda/pipeline/report/report-html';
import { runKeys } from '../../lambda/core/runs';
import { parseWeights } from '../../lambda/core/weights';
import { synth } from '../helpers/app';
import { converseReply, InMemoryS3, requestTexts } from '../helpers/aws-mocks';
import { lambdaEnvironment, runLocally, stateMachineDefinition } from '../helpers/local-sfn';
import { SimulatedTeacher } from '../helpers/simulated-teacher';
import { addListing, FakeBedrock } from '../pipeline/fake-bedrock';
import { pipelineTasks } from '../pipeline/pipeline-tasks';

/**
 * The HTML run report as a person sees it: the real pipeline state machine runs locally from Preflight to Report (as in
 * pipeline-e2e.test.ts, AWS mocked at the SDK boundary), the student and the baseline answer with some mistakes and
 * a latency each (a simulated clock, so the report shows realistic distributions), then report.html is opened in
 * headless Chromium: no console error, no request leaves the page, every chart drawn, the verdict readable. One
 * screenshot per test run is kept in cdk.out/test-output/ for review.
 */

const OUTPUT_DIR = join(__dirname, '..', '..', 'cdk.out', 'test-output');
const RUN = 'run-report';

const { templates } = synth({ exampleCount: '100', testExampleCount: '50', queriesPerShard: '10' });
const definition = stateMachineDefinition(templates.pipeline);
const environment = lambdaEnvironment(templates.pipeline);
const BUCKET = environment.DATASET_BUCKET ?? '';
const TEACHER = environment.TEACHER_MODEL_ID ?? '';
const BASELINE = environment.BASELINE_MODEL_ID ?? '';
const $metadata = { httpStatusCode: 200, requestId: 'report' };

/** Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. */
const CHROMIUM = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);
if (!CHROMIUM) {
  const message =
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
    '!!! SKIPPED: the HTML report was NOT opened in a browser: no chromium found (apt-get install chromium, or   !!!\n' +
    '!!! set CHROMIUM_PATH). ' +
    (process.env['REPORT_BROWSER_SKIP'] ?? '') +
    '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n';
  console.warn(message);
}
// CI installs chromium (.ci/run): there a missing browser is a failure unless .ci/run said why it could not install it.
const browserTest = CHROMIUM ? it : process.env['CI'] === 'true' && !process.env['REPORT_BROWSER_SKIP'] ? it : it.skip;

/** A stable number in [0, 1) per (salt, query): the simulated models' mistakes and latencies are reproducible. */
const unit = (salt: string, query: string) =>
  parseInt(createHash('sha256').update(`${salt}\n${query}`).digest('hex').slice(0, 8), 16) / 2 ** 32;

/** Log-normal latency around `median` ms (Box–Muller over two stable uniforms). */
const latency = (model: string, query: string, median: number, sigma: number) => {
  const z = Math.sqrt(-2 * Math.log(1 - unit(`${model}-a`, query))) * Math.cos(2 * Math.PI * unit(`${model}-b`, query));
  return median * Math.exp(sigma * z);
};

/** The teacher's label, with the dominant modality moved to the next one (a plausible routing mistake). */
function mislabel(reply: string): string {
  const parsed = parseWeights(reply);
  if (!parsed.ok) return reply;
  const next = MODALITIES[(MODALITIES.indexOf(parsed.dominant) + 1) % MODALITIES.length] as Modality;
  const weights = {
    ...parsed.weights,
    [parsed.dominant]: parsed.weights[next],
    [next]: parsed.weights[parsed.dominant],
  };
  return JSON.stringify(weights);
}

const runtime = mockClient(BedrockRuntimeClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
let s3: InMemoryS3;
let bedrock: FakeBedrock;
let savedEnv: NodeJS.ProcessEnv;
let html = '';
let report: RunReport;
let htmlPath = '';
/** Milliseconds the simulated models have spent answering; added to the clock Evaluate reads. */
let simulatedMs = 0;

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  jest.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics);
  const realNow = performance.now.bind(performance);
  jest.spyOn(performance, 'now').mockImplementation(() => realNow() + simulatedMs);
  savedEnv = { ...process.env };
  // One call at a time, so that the time one simulated call adds is exactly that call's measured latency.
  Object.assign(process.env, environment, { AWS_REGION: 'us-east-1', EVALUATION_CONCURRENCY: '1' });

  s3 = new InMemoryS3();
  addListing(s3);
  const teacher = new SimulatedTeacher();
  const answerer = new SimulatedTeacher();
  let deploymentArn = '';
  runtime.on(ConverseCommand).callsFake((input: ConverseCommandInput) => {
    if (input.modelId === TEACHER) return teacher.reply(input);
    const model = input.modelId === BASELINE ? 'baseline' : 'student';
    deploymentArn = model === 'student' ? (input.modelId ?? '') : deploymentArn;
    const { user } = requestTexts(input);
    const label = answerer.reply(input).output?.message?.content?.[0]?.text ?? '';
    const u = unit(model, user);
    simulatedMs += model === 'student' ? latency(model, user, 760, 0.22) : latency(model, user, 1600, 0.25);
    const reply =
      model === 'student'
        ? u < 0.015
          ? 'Mostly visual, I think.'
          : u < 0.08
            ? mislabel(label)
            : label
        : u < 0.05
          ? mislabel(label)
          : label;
    return converseReply(reply, model === 'student' ? { inputTokens: 180, outputTokens: 30 } : undefined);
  });
  ssm.on(GetParameterCommand).resolves({ $metadata, Parameter: { Name: 'p', Value: 'none', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ $metadata, Version: 2 });
  sns.on(PublishCommand).resolves({ $metadata, MessageId: 'message-1' });
  // The judge's normalised scores (0–1), one per held-out query: mostly 4s and 5s, a few lower.
  const scores = (fives: number, fours: number, threes: number) => [
    ...Array<number>(fives).fill(1),
    ...Array<number>(fours).fill(0.75),
    ...Array<number>(threes).fill(0.5),
    ...Array<number>(50 - fives - fours - threes).fill(0.25),
  ];
  bedrock = new FakeBedrock(s3, {
    jobStatuses: ['Completed'],
    deploymentStatuses: ['Active'],
    judgeResults: { student: scores(21, 22, 5), baseline: scores(18, 26, 4) },
  });
  bedrock.mock.on(GetFoundationModelCommand).callsFake(async (input: GetFoundationModelCommandInput) => ({
    $metadata,
    modelDetails: { modelId: input.modelIdentifier, modelLifecycle: { status: 'ACTIVE' } },
  }));

  const tasks = pipelineTasks();
  const result = await runLocally(definition, { executionName: RUN, input: {}, tasks });
  // On failure, say where and why.
  expect({ status: result.status, error: result.error, cause: result.cause }).toEqual({ status: 'SUCCEEDED' });
  report = JSON.parse(s3.get(BUCKET, runKeys(RUN).reportJson) ?? '{}') as RunReport;
  html = s3.get(BUCKET, reportHtmlKey(RUN)) ?? '';
  mkdirSync(OUTPUT_DIR, { recursive: true });
  htmlPath = join(OUTPUT_DIR, 'report.html');
  writeFileSync(htmlPath, html);
}, 120_000);

afterAll(() => {
  s3?.restore();
  bedrock?.restore();
  runtime.restore();
  ssm.restore();
  sns.restore();
  process.env = savedEnv;
  jest.restoreAllMocks();
});

describe('report.html of a locally executed run', () => {
  it('is written next to report.md and named in the notification', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(s3.get(BUCKET, runKeys(RUN).reportMarkdown)).toBeDefined();
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(message).toContain(`Report with charts: s3://${BUCKET}/${reportHtmlKey(RUN)}`);
    // The simulated latencies went through Evaluate's own measurement into the report.
    expect(report.student.metrics.latencyMs.mean).toBeGreaterThan(600);
    expect(report.baseline.metrics.latencyMs.mean).toBeGreaterThan(report.student.metrics.latencyMs.mean);
  });

  it('is self-contained: no script, no stylesheet or image link, no URL but the SVG namespaces', () => {
    // url(#id) is an SVG clip-path inside the page; anything else would be fetched.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#)/i);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });

  browserTest(
    'opens in headless Chromium without errors or requests, with every chart drawn and the verdict shown',
    async () => {
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      });
      try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1280, height: 900 });
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
        await page.setRequestInterception(true);
        const pageUrl = pathToFileURL(htmlPath).href;
        page.on('request', (request) => {
          if (request.url() === pageUrl) return void request.continue();
          requests.push(request.url());
          return void request.abort();
        });
        await page.goto(pageUrl, { waitUntil: 'load' });

        const charts = await page.$$eval('figure[data-chart]', (figures) =>
          figures.map((f) => {
            const svg = f.querySelector('svg');
            const box = svg?.getBoundingClientRect();
            const marks: Record<string, number> = {};
            // ECharts' SSR output tags each data element (bar, heatmap cell, line) with its series; legends aside.
            const tagged = f.querySelectorAll('[ecmeta_ssr_type="chart"][ecmeta_series_index]');
            for (let i = 0; i < tagged.length; i++) {
              const series = tagged.item(i).getAttribute('ecmeta_series_index') ?? '?';
              marks[series] = (marks[series] ?? 0) + 1;
            }
            return {
              id: f.getAttribute('data-chart') ?? '',
              width: box?.width ?? 0,
              height: box?.height ?? 0,
              marks,
            };
          }),
        );
        const outcome = await page.$eval('[data-outcome]', (e) => e.textContent ?? '');
        // The candidates side by side, near the top: each column's head, the winner's mark, the selection's reason.
        const candidatesTable = await page.$eval('table[data-table="candidates"]', (table) => {
          const box = table.getBoundingClientRect();
          const heads = [...table.querySelectorAll('thead th[data-candidate]')].map((th) => ({
            name: th.getAttribute('data-candidate') ?? '',
            text: th.textContent ?? '',
            winner: th.classList.contains('winner'),
          }));
          const rows = [...table.querySelectorAll('tbody th[scope="row"]')].map((th) => th.textContent ?? '');
          // The page is not scrolled: a box's top is its place on the page.
          return { top: box.top, width: box.width, height: box.height, heads, rows };
        });
        const gateTop = await page.$eval('#gate', (e) => e.getBoundingClientRect().top);
        const why = await page.$eval('[data-selection]', (e) => e.textContent ?? '');
        const verdicts = await page.$$eval('table.gate td.verdict', (cells) => cells.map((c) => c.textContent));
        await page.screenshot({ path: join(OUTPUT_DIR, 'report.png'), fullPage: true });

        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
        // Every chart the run has data for, each a visible SVG with its marks: one per bar, cell or line.
        const manifest = report.dataset.manifest as {
          droppedByReason: Record<string, number>;
          duplicates: { exact: number; normalised: number };
          unused: number;
        };
        const dropReasons = [
          ...Object.values(manifest.droppedByReason),
          manifest.duplicates.exact,
          manifest.duplicates.normalised,
          manifest.unused,
        ].filter((n) => n > 0).length;
        const evaluated = (report.candidates ?? []).filter((c) => c.status === 'evaluated');
        const perCandidate = Object.fromEntries(
          evaluated.flatMap((c) => [
            [`confusion-candidate-${c.name}`, { 0: MODALITIES.length * (MODALITIES.length + 1) }],
            [`judge-candidate-${c.name}`, { 0: 5 }],
          ]),
        );
        const expected: Record<string, Record<string, number>> = {
          ...perCandidate,
          balance: { 0: 5, 1: 4, 2: 5, 3: 5 },
          sources: { 0: 2 },
          'confusion-student': { 0: MODALITIES.length * (MODALITIES.length + 1) },
          'confusion-baseline': { 0: MODALITIES.length * (MODALITIES.length + 1) },
          judge: { 0: 5, 1: 5 },
          mae: { 0: 4, 1: 4 },
          latency: { 0: 1, 1: 1 },
          'cost-stages': { 0: 3 },
          'cost-per-1m': { 0: 2 },
        };
        if (dropReasons > 0) expected['dropped'] = { 0: dropReasons };
        expect(Object.fromEntries(charts.map((c) => [c.id, c.marks]))).toEqual(expected);
        for (const c of charts) {
          expect({ id: c.id, visible: c.width > 100 && c.height > 100 }).toEqual({ id: c.id, visible: true });
        }
        // Every candidate of the run has a visible column above the gate; the winner's is marked.
        expect(report.candidates?.map((c) => c.name)).toEqual(['ft-micro', 'distill-micro']);
        expect(candidatesTable.width).toBeGreaterThan(400);
        expect(candidatesTable.height).toBeGreaterThan(200);
        expect(candidatesTable.top).toBeLessThan(gateTop);
        expect(candidatesTable.heads.map((h) => [h.name, h.winner])).toEqual(
          (report.candidates ?? []).map((c) => [c.name, c.status === 'evaluated' && c.winner]),
        );
        const winner = candidatesTable.heads.find((h) => h.winner);
        expect(winner?.name).toBe(report.selection?.winner);
        expect(winner?.text).toContain('★ winner');
        expect(candidatesTable.rows).toEqual(expect.arrayContaining(['cost per 1M queries', 'dominant agreement']));
        expect(why).toContain(report.selection?.reason ?? '?');
        expect(outcome).toContain(report.outcome);
        expect(outcome).toContain(report.outcome === 'PROMOTED' ? 'passed the gate' : report.gate.summary);
        expect(verdicts).toEqual(report.gate.checks.map((c) => (c.passed ? 'pass' : 'FAIL')));
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
