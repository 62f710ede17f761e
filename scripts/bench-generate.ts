import { converseHttpStub } from '../test/helpers/bedrock-http-stub';

/**
 * `npm run bench:generate [-- --compare] [--quota=600] [--shards=10] [--queries-per-shard=100]
 *  [--concurrency=10] [--label-concurrency=8] [--strategy=client|sdk-standard|sdk-adaptive]`
 *
 * Runs the Generate shard handler over ≥ 1,000 queries — several shards at once, as the Distributed Map runs them,
 * each with its own SDK client as separate Lambda instances would have — against a simulated teacher. The simulation
 * sits below the SDK, as its HTTP handler: each request reserves a token of a requests-per-minute quota (a token
 * bucket refilled continuously, one second of burst) and gets a 429 ThrottlingException past it, or else answers
 * after a latency that grows with the output tokens, with a real Converse body. So the SDK's own retry strategies run
 * exactly as they would against Bedrock, and can be compared with ours (`--compare`; every strategy gets the same
 * number of attempts).
 *
 * Prints a table, then as the last line one JSON object: quotaUtilization (accepted calls per minute ÷ quota),
 * lost (queries neither labelled nor reported as dropped), examplesPerMinute, teacherCallsPer1000, retries, …
 * Defaults: quota 600 RPM, so 1,000 queries (≈ 1,040 teacher calls) take ≈ 1.8 minutes; `--compare` runs the three
 * strategies one after the other (≈ 6 minutes).
 */

interface Args {
  quota: number;
  shards: number;
  queriesPerShard: number;
  concurrency: number;
  labelConcurrency: number;
  strategies: Strategy[];
}

/** `sdk-adaptive` is what the handler deploys (TEACHER_CLIENT_CONFIG); the others are for comparison. */
const STRATEGIES = ['sdk-adaptive', 'client', 'sdk-standard'] as const;
type Strategy = (typeof STRATEGIES)[number];

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string, fallback: number) => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    const n = arg ? Number(arg.slice(name.length + 3)) : fallback;
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
    return n;
  };
  const strategyArg = argv.find((a) => a.startsWith('--strategy='))?.slice('--strategy='.length);
  if (strategyArg && !(STRATEGIES as readonly string[]).includes(strategyArg)) {
    throw new Error(`--strategy must be one of ${STRATEGIES.join(', ')}`);
  }
  return {
    quota: value('quota', 600),
    shards: value('shards', 10),
    queriesPerShard: value('queries-per-shard', 100),
    concurrency: value('concurrency', 10),
    labelConcurrency: value('label-concurrency', 8),
    strategies: argv.includes('--compare')
      ? [...STRATEGIES]
      : [(strategyArg as Strategy | undefined) ?? 'sdk-adaptive'],
  };
}

/** The teacher's per-minute request quota as a token bucket: refilled continuously, one second's worth of burst. */
class RequestQuota {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly perMinute: number) {
    this.tokens = this.burst;
  }
  private get burst() {
    return this.perMinute / 60;
  }
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 60_000) * this.perMinute);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

async function main(): Promise<void> {
  // Quiet Powertools before the handler modules create their logger and metrics.
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
    AWS_REGION: 'us-east-1',
  });
  const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
  const { generateShardStep, TEACHER_CLIENT_CONFIG } = await import('../lambda/pipeline/generate-shard');
  const { mapWithConcurrency } = await import('../lambda/shared/concurrency');
  const { cellOf } = await import('../lambda/shared/query-plan');
  const { parseShardFile } = await import('../lambda/shared/shard-generation');
  const { runKeys } = await import('../lambda/shared/runs');
  const { SimulatedTeacher } = await import('../test/helpers/simulated-teacher');

  const args = parseArgs(process.argv.slice(2));

  /** Bedrock runtime as seen through HTTP: the quota, a latency per call, the Converse wire format. */
  class SimulatedBedrock {
    readonly teacher = new SimulatedTeacher();
    readonly quota: RequestQuota;
    accepted = 0;
    throttled = 0;
    constructor(quotaPerMinute: number) {
      this.quota = new RequestQuota(quotaPerMinute);
    }
    handler() {
      return converseHttpStub((input) => {
        if (!this.quota.take()) {
          this.throttled++;
          return { throttle: true };
        }
        this.accepted++;
        const output = this.teacher.reply(input);
        // ~250 ms to the first token, then ~10 ms per output token (a label ≈ 0.5 s, a batch of queries ≈ 3.5 s).
        const latencyMs = (250 + 10 * (output.usage?.outputTokens ?? 0)) * (0.8 + Math.random() * 0.4);
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

  const rows: Record<string, string | number>[] = [];
  let chosen: Record<string, number | string | boolean> | undefined;
  for (const strategy of args.strategies) {
    const service = new SimulatedBedrock(args.quota);
    const { store, objects } = memoryStore();
    const runId = `bench-${strategy}`;
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
          { runId, shard },
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
    const planned = shards.reduce((s, x) => s + x.count, 0);
    const failedShards = results.filter((r) => 'failed' in r);
    const failedQueries = failedShards.reduce((s, r) => s + (shards[r.index]?.count ?? 0), 0);
    const labelled = summaries.reduce((s, x) => s + x.labelled, 0);
    const dropped = summaries.reduce(
      (s, x) => s + x.dropped.notWritten + x.dropped.unparseableLabel + x.dropped.teacherError,
      0,
    );
    const retries = summaries.reduce((s, x) => s + x.retries, 0);
    const calls = summaries.reduce((s, x) => s + x.teacherCalls.writing + x.teacherCalls.labelling, 0);
    const minutes = elapsedMs / 60_000;
    const figures = {
      strategy,
      quotaRpm: args.quota,
      shards: args.shards,
      queries: planned,
      elapsedSeconds: Number((elapsedMs / 1000).toFixed(1)),
      teacherCalls: calls,
      accepted: service.accepted,
      throttled: service.throttled,
      retries,
      labelled,
      dropped,
      failedShards: failedShards.length,
      lost: planned - labelled - dropped - failedQueries,
      callsPerMinute: Number((service.accepted / minutes).toFixed(1)),
      quotaUtilization: Number((service.accepted / minutes / args.quota).toFixed(3)),
      examplesPerMinute: Number((labelled / minutes).toFixed(1)),
      teacherCallsPer1000: Number(((calls / Math.max(1, labelled)) * 1000).toFixed(1)),
    };
    rows.push(figures);
    chosen ??= figures;
  }

  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  console.log(
    `Generate shard benchmark: ${args.shards} shards × ${args.queriesPerShard} queries, ${args.concurrency} shards ` +
      `at once, ${args.labelConcurrency} teacher calls in flight per shard, quota ${args.quota} requests/min`,
  );
  console.log(line(columns));
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
  console.log(JSON.stringify({ ...chosen, compared: rows.length > 1 ? rows : undefined }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
