/**
 * `npm run bench:router`: what the router adds on top of the model call.
 *
 * Bundles lambda/router/handler.ts exactly as deployed (the house Function construct's esbuild options, BUNDLING) and a
 * bare handler that returns a constant (the floor) with the same options. Then, in fresh Node processes (plain
 * `node`, not this script's tsx) with the deployed NODE_OPTIONS and environment:
 *   - cold init: Node's own start-up + loading the bundle + the first invocation (median over several processes);
 *   - warm per-request time p50/p99 over many invocations of distinct queries (each a cache miss that calls the
 *     stubbed model), and of repeated queries (cache hits).
 * The Bedrock, SSM and SQS clients are stubbed at the SDK boundary inside the bundle (a middleware on the exported
 * clients answers at once with real response shapes), so the figures are the router's own cost. The router runs with
 * shadow sampling at its default rate (shadowSampleRate); a third set of warm runs samples every request (rate 1), and
 * the difference is the sampled-request overhead (the hand-off's own CPU time: the stubbed SendMessage answers at once,
 * so the in-Region network time, bounded by SHADOW_HANDOFF_TIMEOUT_MS, is not in it).
 *
 * Prints the largest parts of the bundle (esbuild metafile; fails if classic zod got in), a table, then as the last
 * line one JSON object (warmOverheadP99Ms, coldInitMs, coldInitRatio, bundleKiB, …).
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/constructs/function';
import { routerEnvironment } from '../lambda/router/settings';
import { parseConfig } from '../lib/config';
import { flagHelp, parseArgs, UsageError } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';

/** The deployed default (lib/config.ts), so the benchmark follows it. */
const SHADOW_SAMPLE_RATE = parseConfig({}).shadowSampleRate;
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/intent-router-bench-shadow';
import { bundle, bytesByPackage, classicZodModules, ROUTER_ENTRY } from './router-bundle';

const OUT = path.join(PROJECT_ROOT, '.bench', 'router');
const COLD_RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 9);
const WARM_INVOCATIONS = Number(process.env['BENCH_WARM_INVOCATIONS'] ?? 10_000);
const WARM_RUNS = Number(process.env['BENCH_WARM_RUNS'] ?? 3);
const WARMUP_INVOCATIONS = 1_000;

interface ChildResult {
  /** Process start to the first line of the runner (Node's own start-up). */
  readonly bootMs: number;
  /** require() of the bundle: module init. */
  readonly importMs: number;
  readonly firstInvokeMs: number;
  readonly warm?: { readonly miss: number[]; readonly hit: number[] };
}

/** The runner each fresh process executes: load the bundle, stub the SDK clients, invoke. Plain CJS. */
const CHILD = String.raw`
const bootMs = performance.now();
const [bundle, mode, warmCount, warmupCount] = process.argv.slice(2);
const converseOutput = () => ({
  $metadata: { httpStatusCode: 200, requestId: 'bench' },
  output: { message: { role: 'assistant', content: [{ text: '{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 42, outputTokens: 24, totalTokens: 66 },
  metrics: { latencyMs: 0 },
});
const sendMessageOutput = () => ({
  $metadata: { httpStatusCode: 200, requestId: 'bench' },
  MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
  MD5OfMessageBody: 'e99a18c428cb38d5f260853678922e03',
});
const parameterOutput = () => ({
  $metadata: { httpStatusCode: 200, requestId: 'bench' },
  Parameter: { Name: process.env.ACTIVE_MODEL_PARAMETER_NAME, Type: 'String', Version: 3, Value: process.env.BENCH_ACTIVE_MODEL },
});
// At the SDK boundary: after the command is built and serialised, before signing and HTTP; answers at once.
const stub = (client, answer) =>
  client.middlewareStack.add(() => async () => ({ output: answer(), response: { statusCode: 200, headers: {} } }), {
    step: 'build', priority: 'low', name: 'benchStub',
  });
const event = (query) => ({
  resource: '/v1/route', path: '/v1/route', httpMethod: 'POST', isBase64Encoded: false,
  headers: { 'Content-Type': 'application/json' },
  requestContext: { requestId: 'bench-' + Math.random() },
  body: JSON.stringify({ query }),
});
const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 30000 };
(async () => {
  const t0 = performance.now();
  const mod = require(bundle);
  const t1 = performance.now();
  if (mode === 'router') {
    stub(mod.clients.bedrock, converseOutput);
    stub(mod.clients.ssm, parameterOutput);
    if (mod.clients.sqs) stub(mod.clients.sqs, sendMessageOutput);
  }
  const t2 = performance.now();
  const first = await mod.handler(event('dog barking loudly'), context);
  const t3 = performance.now();
  if (first.statusCode !== 200) throw new Error('first invocation answered ' + first.statusCode + ' ' + first.body);
  if (mode === 'router' && JSON.parse(first.body).source !== 'student') throw new Error('not the student: ' + first.body);
  const result = { bootMs, importMs: t1 - t0, firstInvokeMs: t3 - t2 };
  if (Number(warmCount) > 0) {
    const time = async (query) => { const s = performance.now(); await mod.handler(event(query), context); return performance.now() - s; };
    for (let i = 0; i < Number(warmupCount); i++) await time('warm-up query ' + i);
    const miss = [], hit = [];
    for (let i = 0; i < Number(warmCount); i++) miss.push(await time('distinct query number ' + i));
    for (let i = 0; i < Number(warmCount); i++) hit.push(await time('distinct query number ' + (i % 100)));
    result.warm = { miss, hit };
  }
  process.send(result, () => process.exit(0));
})().catch((error) => { console.error(error); process.exit(1); });
`;

const FLOOR = `export const handler = async () => ({ statusCode: 200, body: '{}' });\n`;

const ACTIVE_MODEL = JSON.stringify({
  deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456',
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/bench',
  runId: 'bench',
  promotedAt: '2026-01-01T00:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: {},
});

/** The function's environment as deployed with the default config (see lib/constructs/router-api.ts). */
const ENV = {
  NODE_OPTIONS: '--enable-source-maps',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  // Lambda hands the function its role's credentials in the environment; these are fake (nothing is sent).
  AWS_ACCESS_KEY_ID: 'AKIDBENCHEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'bench-secret-not-used',
  AWS_SESSION_TOKEN: 'bench-session-not-used',
  POWERTOOLS_SERVICE_NAME: 'intent-router',
  POWERTOOLS_METRICS_NAMESPACE: 'DistilledIntentRouter',
  ...routerEnvironment({
    activeModelParameter: '/intent-router/bench/active-model',
    parameterCacheTtlSeconds: 60,
    latencyBudgetMs: 1500,
    defaultWeights: { visual: 0.4, audio: 0.2, transcription: 0.2, metadata: 0.2 },
    cacheSize: 10_000,
    cacheTtlSeconds: 300,
    logQueries: false,
    maxTokens: 80,
    corsAllowOrigins: [],
    ...(SHADOW_SAMPLE_RATE > 0 ? { shadow: { sampleRate: SHADOW_SAMPLE_RATE, queueUrl: QUEUE_URL } } : {}),
  }),
  BENCH_ACTIVE_MODEL: ACTIVE_MODEL,
};

function runChild(
  runner: string,
  bundlePath: string,
  mode: 'router' | 'floor',
  warm: number,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(runner, [bundlePath, mode, String(warm), String(warm > 0 ? WARMUP_INVOCATIONS : 0)], {
      // Plain Node, as Lambda runs the bundle: fork would otherwise pass on this script's tsx loader flags, and every
      // child would spend ~50-150 ms booting tsx, which inflates both start-ups and understates the ratio.
      execArgv: [],
      env: { PATH: process.env['PATH'] ?? '', ...ENV, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let result: ChildResult | undefined;
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('message', (message: ChildResult) => (result = message));
    child.on('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`${mode} run failed (${code}):\n${stderr}`)),
    );
  });
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const median = (values: readonly number[]) => percentile(values, 50);
const round = (n: number, digits = 3) => Number(n.toFixed(digits));

async function main() {
  mkdirSync(OUT, { recursive: true });
  const runner = path.join(OUT, 'runner.cjs');
  writeFileSync(runner, CHILD);
  const floorEntry = path.join(OUT, 'floor.ts');
  writeFileSync(floorEntry, FLOOR);
  const routerBundle = path.join(OUT, 'router', 'index.js');
  const floorBundle = path.join(OUT, 'floor', 'index.js');
  const router = await bundle(ROUTER_ENTRY, routerBundle);
  const floor = await bundle(floorEntry, floorBundle);
  const routerBytes = router.bytes;
  const floorBytes = floor.bytes;
  const classicZod = classicZodModules(router.metafile, routerBundle);
  if (classicZod.length > 0) {
    throw new Error(
      `classic zod is in the router bundle (import zod/mini in the modules the router uses):\n${classicZod.map(([f, b]) => `  ${f} ${b} B`).join('\n')}`,
    );
  }

  // Cold: alternate router and floor so both see the same machine load.
  const cold: Record<'router' | 'floor', ChildResult[]> = { router: [], floor: [] };
  for (let i = 0; i < COLD_RUNS; i++) {
    cold.router.push(await runChild(runner, routerBundle, 'router', 0));
    cold.floor.push(await runChild(runner, floorBundle, 'floor', 0));
  }
  // Warm: several fresh processes each; the figures are the median over the runs (one noisy neighbour spoils one run).
  // `sampled`: the router with every request sampled (SHADOW_SAMPLE_RATE=1), for the sampled-request overhead.
  const warmRuns: Record<'router' | 'floor' | 'sampled', { miss: number[]; hit: number[] }[]> = {
    router: [],
    floor: [],
    sampled: [],
  };
  const sampledEnv = { SHADOW_SAMPLE_RATE: '1', SHADOW_QUEUE_URL: QUEUE_URL };
  for (let i = 0; i < WARM_RUNS; i++) {
    warmRuns.router.push(
      (await runChild(runner, routerBundle, 'router', WARM_INVOCATIONS)).warm ?? { miss: [], hit: [] },
    );
    warmRuns.floor.push((await runChild(runner, floorBundle, 'floor', WARM_INVOCATIONS)).warm ?? { miss: [], hit: [] });
    warmRuns.sampled.push(
      (await runChild(runner, routerBundle, 'router', WARM_INVOCATIONS, sampledEnv)).warm ?? { miss: [], hit: [] },
    );
  }
  const warm = (who: 'router' | 'floor' | 'sampled', kind: 'miss' | 'hit', p: number) =>
    median(warmRuns[who].map((run) => percentile(run[kind], p)));

  const coldOf = (runs: ChildResult[]) => ({
    boot: median(runs.map((r) => r.bootMs)),
    import: median(runs.map((r) => r.importMs)),
    first: median(runs.map((r) => r.firstInvokeMs)),
    total: median(runs.map((r) => r.bootMs + r.importMs + r.firstInvokeMs)),
  });
  const c = { router: coldOf(cold.router), floor: coldOf(cold.floor) };
  const warmP99 = warm('router', 'miss', 99);
  const floorP99 = warm('floor', 'miss', 99);

  console.log('largest parts of the router bundle (KiB):');
  for (const [owner, bytes] of bytesByPackage(router.metafile, routerBundle).slice(0, 12)) {
    console.log(`  ${(bytes / 1024).toFixed(1).padStart(6)}  ${owner}`);
  }
  console.log('');

  const rows: [string, string, string][] = [
    ['bundle (KiB)', (routerBytes / 1024).toFixed(1), (floorBytes / 1024).toFixed(1)],
    ['source map (KiB)', (router.sourceMapBytes / 1024).toFixed(1), (floor.sourceMapBytes / 1024).toFixed(1)],
    [`cold: Node start-up (ms, median of ${COLD_RUNS})`, c.router.boot.toFixed(1), c.floor.boot.toFixed(1)],
    ['cold: load bundle (ms)', c.router.import.toFixed(1), c.floor.import.toFixed(1)],
    ['cold: first invocation (ms)', c.router.first.toFixed(1), c.floor.first.toFixed(1)],
    ['cold init total (ms)', c.router.total.toFixed(1), c.floor.total.toFixed(1)],
    [
      `warm p50, cache miss (ms, median of ${WARM_RUNS} runs × ${WARM_INVOCATIONS})`,
      warm('router', 'miss', 50).toFixed(3),
      warm('floor', 'miss', 50).toFixed(3),
    ],
    ['warm p99, cache miss (ms)', warmP99.toFixed(3), floorP99.toFixed(3)],
    ['warm p50, cache hit (ms)', warm('router', 'hit', 50).toFixed(3), warm('floor', 'hit', 50).toFixed(3)],
    ['warm p99, cache hit (ms)', warm('router', 'hit', 99).toFixed(3), warm('floor', 'hit', 99).toFixed(3)],
    ['warm p50, every request sampled (ms)', warm('sampled', 'miss', 50).toFixed(3), '-'],
    ['warm p99, every request sampled (ms)', warm('sampled', 'miss', 99).toFixed(3), '-'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`${'measure'.padEnd(width)} | ${'router'.padStart(9)} | ${'floor'.padStart(9)}`);
  console.log(`${'-'.repeat(width)}-|-${'-'.repeat(9)}-|-${'-'.repeat(9)}`);
  for (const [name, ours, floor] of rows)
    console.log(`${name.padEnd(width)} | ${ours.padStart(9)} | ${floor.padStart(9)}`);

  const figures = {
    warmOverheadP50Ms: round(warm('router', 'miss', 50) - warm('floor', 'miss', 50)),
    warmOverheadP99Ms: round(warmP99 - floorP99),
    warmOverheadP99ByRunMs: warmRuns.router.map((run) => round(percentile(run.miss, 99))),
    warmCacheHitP99Ms: round(warm('router', 'hit', 99) - warm('floor', 'hit', 99)),
    shadowSampleRate: SHADOW_SAMPLE_RATE,
    // What a sampled request adds over the router at the default rate (SendMessage stubbed: CPU only).
    sampledRequestOverheadP50Ms: round(warm('sampled', 'miss', 50) - warm('router', 'miss', 50)),
    sampledRequestOverheadP99Ms: round(warm('sampled', 'miss', 99) - warm('router', 'miss', 99)),
    coldInitMs: round(c.router.total, 1),
    floorColdInitMs: round(c.floor.total, 1),
    coldInitRatio: round(c.router.total / c.floor.total, 2),
    bundleImportMs: round(c.router.import, 1),
    firstInvocationMs: round(c.router.first, 1),
    bundleKiB: round(routerBytes / 1024, 1),
    sourceMapKiB: round(router.sourceMapBytes / 1024, 1),
    warmInvocations: WARM_INVOCATIONS,
    warmRuns: WARM_RUNS,
    coldRuns: COLD_RUNS,
    node: process.version,
    goals: { warmOverheadP99Ms: 1, coldInitRatio: 2 },
  };
  console.log(JSON.stringify(figures));
}

const USAGE =
  'Usage: npm run -s bench:router\n' +
  'Measures what the router adds on top of the model call: its bundle, cold init and warm per-request time against\n' +
  'a constant handler, in fresh Node processes with the SDK stubbed (no AWS). Prints a table, then one JSON line.\n' +
  'Takes a few minutes; writes only under .bench/router/. Sizes: BENCH_COLD_RUNS (default 9),\n' +
  'BENCH_WARM_RUNS (3) and BENCH_WARM_INVOCATIONS (10,000) in the environment.\n' +
  flagHelp({});

void runCommand('npm run bench:router', async () => {
  const { positionals, help } = parseArgs(process.argv.slice(2), {});
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the benchmark takes none`);
  await main();
  return 0;
}).then((code) => {
  process.exitCode = code;
});
