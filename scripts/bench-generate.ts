import { flagHelp, parseArgs, UsageError, type FlagSpecs } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';
import { converseHttpStub } from '../test/helpers/bedrock-http-stub';

/**
 * `npm run bench:generate [-- --compare] [--quota 600] [--token-quota 200000] [--shards 30] [--queries-per-shard 100]
 *  [--concurrency 10] [--label-concurrency 8] [--strategy client|sdk-standard|sdk-adaptive]
 *  [--batch-size N | --batch-sizes 1,5,10,20] [--batch-fault-rate 0]` (`--name=value` works too; --help for all)
 *
 * Runs the Generate shard handler over 3,000 queries — 30 shards, 10 at once, as the Distributed Map runs them, each
 * with its own SDK client as separate Lambda instances would have — against a simulated teacher. Three waves of
 * shards, as a real run has many: the last wave's drain (one shard's duration, ~10 s when labelling in batches of 20)
 * would otherwise be a large part of a short run. The simulation
 * sits below the SDK, as its HTTP handler, with Bedrock's two quotas: requests per minute, and tokens per minute
 * (input + output), of which a request reserves its input tokens plus its maxTokens when it starts and gets back
 * what it did not use when it ends. Each quota is a bucket refilled continuously (the request quota with one second
 * of burst, the token quota with five). A request is admitted while the token bucket is above zero and then takes its
 * whole reservation (the bucket may go below zero, and refills from there): how Bedrock admits a request larger than
 * what is left is not documented, and requiring the whole reservation up front would starve the large writing calls
 * (1,200 maxTokens) behind the small label calls. Past either quota a request gets a 429 ThrottlingException;
 * otherwise it is answered after a latency that grows with the output tokens, with a real Converse body. So the SDK's own retry strategies run exactly as they would against Bedrock, and can be compared
 * with ours (`--compare`; every strategy gets the same number of attempts).
 *
 * `--batch-size=N` labels N queries per teacher call (as `labelBatchSize`; 1, the default, is one query per call);
 * `--batch-sizes=1,5,10,20` runs each size in turn; `--batch-fault-rate=R` makes the simulated teacher spoil that
 * share of batch items (missing, duplicated or unparsable, at random; seeded), which are then re-asked singly.
 *
 * Prints a table, then as the last line one JSON object: quotaUtilization (the busier of the two quotas: accepted
 * requests per minute ÷ quota, used tokens per minute ÷ quota; a little above 1 is possible, the buckets start full),
 * lost (queries neither labelled nor reported as dropped), inputTokensPerLabelledQuery (all teacher input tokens ÷
 * labelled queries), examplesPerMinute, … — of the first run, with every run under `compared` when there are several.
 * Defaults: 600 requests and 200,000 tokens per minute; one query per call takes ≈ 5.5 minutes (token-bound: ~375
 * tokens per labelled query), batches of 20 ≈ 1.5 minutes.
 */

interface Args {
  quota: number;
  tokenQuota: number;
  shards: number;
  queriesPerShard: number;
  concurrency: number;
  labelConcurrency: number;
  strategies: Strategy[];
  batchSizes: number[];
  batchFaultRate: number;
}

/** `sdk-adaptive` is what the handler deploys (TEACHER_CLIENT_CONFIG); the others are for comparison. */
const STRATEGIES = ['sdk-adaptive', 'client', 'sdk-standard'] as const;
type Strategy = (typeof STRATEGIES)[number];

const FLAGS = {
  compare: { type: 'boolean', help: `run every retry strategy (${STRATEGIES.join(', ')}) in turn and compare them` },
  strategy: {
    type: 'string',
    help: `the retry strategy: ${STRATEGIES.join(', ')}; default ${STRATEGIES[0]} (as deployed)`,
    check: (v) => ((STRATEGIES as readonly string[]).includes(v) ? undefined : `use one of ${STRATEGIES.join(', ')}`),
  },
  quota: { type: 'integer', min: 1, help: 'teacher requests per minute; default 600' },
  'token-quota': { type: 'integer', min: 1, help: 'teacher tokens per minute; default 200,000' },
  shards: { type: 'integer', min: 1, help: 'shards; default 30' },
  'queries-per-shard': { type: 'integer', min: 1, help: 'queries per shard; default 100' },
  concurrency: { type: 'integer', min: 1, help: 'shards at once; default 10' },
  'label-concurrency': { type: 'integer', min: 1, help: 'teacher calls in flight per shard; default 8' },
  'batch-size': { type: 'integer', min: 1, max: 25, help: 'queries per labelling call; default 1' },
  'batch-sizes': {
    type: 'string',
    help: 'several batch sizes in turn, e.g. 1,5,10,20',
    check: (v) =>
      v.split(',').every((n) => /^\d+$/.test(n.trim()) && Number(n) >= 1 && Number(n) <= 25)
        ? undefined
        : `"${v}" is not a comma-separated list of whole numbers from 1 to 25 (MAX_LABEL_BATCH_SIZE)`,
  },
  'batch-fault-rate': {
    type: 'number',
    min: 0,
    max: 1,
    help: 'share of batch items the simulated teacher spoils; default 0',
  },
} as const satisfies FlagSpecs;

const USAGE =
  'Usage: npm run -s bench:generate [-- --compare] [--batch-size N | --batch-sizes 1,5,10,20] [flags]\n' +
  'Runs the Generate shard handler over 3,000 queries (30 shards, 10 at once) against a simulated teacher with\n' +
  "Bedrock's two quotas (no AWS); takes minutes. Prints a table, then one JSON line (quotaUtilization, lost, …).\n" +
  flagHelp(FLAGS);

/** The benchmark's settings, or undefined after printing the usage for --help. */
function benchArgs(argv: readonly string[]): Args | undefined {
  const { flags, positionals, help } = parseArgs(argv, FLAGS);
  if (help) {
    console.log(USAGE);
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (flags['batch-size'] !== undefined && flags['batch-sizes'] !== undefined) {
    throw new UsageError('--batch-size and --batch-sizes exclude each other: give one');
  }
  const strategy = STRATEGIES.find((s) => s === flags.strategy) ?? STRATEGIES[0];
  return {
    quota: flags.quota ?? 600,
    tokenQuota: flags['token-quota'] ?? 200_000,
    shards: flags.shards ?? 30,
    queriesPerShard: flags['queries-per-shard'] ?? 100,
    concurrency: flags.concurrency ?? 10,
    labelConcurrency: flags['label-concurrency'] ?? 8,
    strategies: flags.compare ? [...STRATEGIES] : [strategy],
    batchSizes: flags['batch-sizes']?.split(',').map(Number) ?? [flags['batch-size'] ?? 1],
    batchFaultRate: flags['batch-fault-rate'] ?? 0,
  };
}

/**
 * A per-minute quota as a bucket refilled continuously, with `burstSeconds` of burst. `debt`: a request is admitted
 * while the bucket is above zero and may take it below (else only when the bucket holds all it takes).
 */
class MinuteQuota {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly perMinute: number,
    private readonly burstSeconds: number,
    private readonly debt: boolean,
  ) {
    this.tokens = this.burst;
  }
  private get burst() {
    return (this.perMinute / 60) * this.burstSeconds;
  }
  private refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 60_000) * this.perMinute);
    this.last = now;
  }
  admits(amount: number): boolean {
    this.refill();
    return this.debt ? this.tokens > 0 : this.tokens >= amount;
  }
  take(amount: number): void {
    this.refill();
    this.tokens -= amount;
  }
  /** Gives back what a request reserved and did not use (or takes what it used beyond it). */
  settle(delta: number): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + delta);
  }
}

/** Tokens of a request's text as the simulated teacher counts them (~4.3 characters per token). */
const estimatedTokens = (text: string) => Math.ceil(text.length / 4.3);

async function main(args: Args): Promise<void> {
  // Quiet Powertools before the handler modules create their logger and metrics.
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
    AWS_REGION: 'us-east-1',
  });
  const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
  const { generateShardStep, TEACHER_CLIENT_CONFIG } = await import('../lambda/pipeline/generation/generate-shard');
  const { mapWithConcurrency } = await import('../lambda/core/concurrency');
  const { cellOf } = await import('../lambda/pipeline/generation/query-plan');
  const { QUERY_WRITER_SYSTEM_PROMPT } = await import('../lambda/pipeline/generation/query-writing');
  const { parseShardFile } = await import('../lambda/pipeline/generation/shard-generation');
  const { runKeys } = await import('../lambda/core/runs');
  const { faultsAtRate, SimulatedTeacher } = await import('../test/helpers/simulated-teacher');
  const { requestTexts } = await import('../test/helpers/aws-mocks');

  /** Bedrock runtime as seen through HTTP: both quotas, a latency per call, the Converse wire format. */
  class SimulatedBedrock {
    readonly teacher = new SimulatedTeacher(
      args.batchFaultRate > 0 ? { batchItemFault: faultsAtRate(args.batchFaultRate, 42) } : {},
    );
    readonly requests: MinuteQuota;
    readonly tokens: MinuteQuota;
    accepted = 0;
    throttled = 0;
    /** Tokens the accepted calls used (input + output, after settlement). */
    usedTokens = 0;
    readonly input = { writing: 0, labelling: 0 };
    constructor(requestsPerMinute: number, tokensPerMinute: number) {
      this.requests = new MinuteQuota(requestsPerMinute, 1, false);
      this.tokens = new MinuteQuota(tokensPerMinute, 5, true);
    }
    handler() {
      return converseHttpStub((input) => {
        const { system, user } = requestTexts(input);
        const reserved = estimatedTokens(system + user) + (input.inferenceConfig?.maxTokens ?? 0);
        if (!this.requests.admits(1) || !this.tokens.admits(reserved)) {
          this.throttled++;
          return { throttle: true };
        }
        this.requests.take(1);
        this.tokens.take(reserved);
        this.accepted++;
        const output = this.teacher.reply(input);
        const used = (output.usage?.inputTokens ?? 0) + (output.usage?.outputTokens ?? 0);
        this.usedTokens += used;
        this.input[system === QUERY_WRITER_SYSTEM_PROMPT ? 'writing' : 'labelling'] += output.usage?.inputTokens ?? 0;
        // ~250 ms to the first token, then ~10 ms per output token (a label ≈ 0.5 s, a batch of 20 ≈ 6.5 s).
        const latencyMs = (250 + 10 * (output.usage?.outputTokens ?? 0)) * (0.8 + Math.random() * 0.4);
        // The reservation is settled when the answer is complete.
        setTimeout(() => this.tokens.settle(reserved - used), latencyMs);
        return { output: { ...output, metrics: { latencyMs: Math.round(latencyMs) } }, latencyMs };
      });
    }
  }

  /** An in-memory run store (S3 is not what this benchmark measures). */
  const memoryStore = () => {
    const objects = new Map<string, string>();
    return {
      objects,
      store: {
        bucket: 'bench',
        read: async (key: string) => objects.get(key),
        writeOnce: async (key: string, body: string) => {
          if (objects.has(key)) return false;
          objects.set(key, body);
          return true;
        },
      },
    };
  };

  Object.assign(process.env, {
    BUCKET_NAME: 'bench',
    TEACHER_MODEL_ID: 'us.amazon.nova-premier-v1:0',
    INCLUDE_REASONING: 'false',
    LABEL_CONCURRENCY: String(args.labelConcurrency),
  });

  const runs = args.strategies.flatMap((strategy) => args.batchSizes.map((batchSize) => ({ strategy, batchSize })));
  const rows: Record<string, string | number>[] = [];
  for (const { strategy, batchSize } of runs) {
    const service = new SimulatedBedrock(args.quota, args.tokenQuota);
    const { store, objects } = memoryStore();
    const runId = `bench-${strategy}-${batchSize}`;
    const shards = Array.from({ length: args.shards }, (_, index) => ({
      index,
      ...cellOf(index),
      count: args.queriesPerShard,
    }));
    const started = performance.now();
    // As the Distributed Map runs them: `concurrency` shards at once, each in its own "Lambda" with its own client.
    const results = await mapWithConcurrency(shards, args.concurrency, async (shard) => {
      const client = new BedrockRuntimeClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
        requestHandler: service.handler(),
        ...(strategy === 'sdk-adaptive'
          ? TEACHER_CLIENT_CONFIG
          : strategy === 'client'
            ? { maxAttempts: 1 }
            : { maxAttempts: TEACHER_CLIENT_CONFIG.maxAttempts, retryMode: 'standard' }),
      });
      try {
        return await generateShardStep(
          { runId, shard, labelBatchSize: batchSize },
          {
            converse: (input) => client.send(new ConverseCommand(input)),
            store,
            retry:
              strategy === 'client'
                ? {
                    layer: 'client',
                    maxAttempts: TEACHER_CLIENT_CONFIG.maxAttempts,
                    baseDelayMs: 500,
                    maxDelayMs: 20_000,
                  }
                : { layer: 'sdk' },
          },
        );
      } catch (error) {
        // A failed shard would be retried by the Map; here it is reported (its queries count as failed, not lost).
        return { index: shard.index, failed: error instanceof Error ? error.name : String(error) };
      }
    });
    const elapsedMs = performance.now() - started;

    const summaries = shards
      .map((s) => objects.get(runKeys(runId).shard(s.index)))
      .filter((t): t is string => t !== undefined)
      .map((t) => parseShardFile(t).summary);
    const sum = (f: (s: (typeof summaries)[number]) => number) => summaries.reduce((n, s) => n + f(s), 0);
    const planned = shards.reduce((s, x) => s + x.count, 0);
    const failedShards = results.filter((r) => 'failed' in r);
    const failedQueries = failedShards.reduce((s, r) => s + (shards[r.index]?.count ?? 0), 0);
    const labelled = sum((s) => s.labelled);
    const dropped = sum((s) => s.dropped.notWritten + s.dropped.unparseableLabel + s.dropped.teacherError);
    const calls = sum((s) => s.teacherCalls.writing + s.teacherCalls.labelling);
    const reasked = sum((s) =>
      s.batchReasks ? s.batchReasks.missing + s.batchReasks.duplicate + s.batchReasks.unparsable : 0,
    );
    const minutes = elapsedMs / 60_000;
    const requestUtilization = service.accepted / minutes / args.quota;
    const tokenUtilization = service.usedTokens / minutes / args.tokenQuota;
    const perLabelled = (n: number) => Number((n / Math.max(1, labelled)).toFixed(1));
    const figures = {
      strategy,
      batchSize,
      quotaRpm: args.quota,
      quotaTpm: args.tokenQuota,
      queries: planned,
      elapsedSeconds: Number((elapsedMs / 1000).toFixed(1)),
      teacherCalls: calls,
      labellingCalls: sum((s) => s.teacherCalls.labelling),
      batchCalls: sum((s) => s.batchCalls ?? 0),
      reasked,
      throttled: service.throttled,
      retries: sum((s) => s.retries),
      labelled,
      dropped,
      failedShards: failedShards.length,
      lost: planned - labelled - dropped - failedQueries,
      requestUtilization: Number(requestUtilization.toFixed(3)),
      tokenUtilization: Number(tokenUtilization.toFixed(3)),
      quotaUtilization: Number(Math.max(requestUtilization, tokenUtilization).toFixed(3)),
      examplesPerMinute: Number((labelled / minutes).toFixed(1)),
      teacherCallsPer1000: Number(((calls / Math.max(1, labelled)) * 1000).toFixed(1)),
      inputTokensPerLabelledQuery: perLabelled(service.input.writing + service.input.labelling),
      labellingInputTokensPerQuery: perLabelled(service.input.labelling),
    };
    rows.push(figures);
    console.error(`done: ${strategy}, batch size ${batchSize} (${figures.elapsedSeconds} s)`);
  }

  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  console.log(
    `Generate shard benchmark: ${args.shards} shards × ${args.queriesPerShard} queries, ${args.concurrency} shards ` +
      `at once, ${args.labelConcurrency} teacher calls in flight per shard, quota ${args.quota} requests/min and ` +
      `${args.tokenQuota} tokens/min` +
      (args.batchFaultRate > 0 ? `, ${args.batchFaultRate * 100} % of batch items spoilt` : ''),
  );
  console.log(line(columns));
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
  console.log(JSON.stringify({ ...rows[0], compared: rows.length > 1 ? rows : undefined }));
}

void runCommand('npm run bench:generate', async () => {
  // Read before anything is loaded or set: --help and a bad flag return at once, nothing runs.
  const args = benchArgs(process.argv.slice(2));
  if (args) await main(args);
  return 0;
}).then((code) => {
  process.exitCode = code;
});
