/**
 * What a product team pays per routed query, beyond the model: the API, the router Lambda (billed while it waits for
 * Bedrock), its logs, its traces and the shadow loop. Prices are AWS's public us-east-1 list prices (docs/aws-facts.md
 * §10); each figure that is not a price is a stated assumption that travels with the result.
 */

/** AWS list prices the serving estimate uses (us-east-1, first tier). */
export const SERVING_PRICES = {
  /** API Gateway per 1M requests: REST API (first 333M a month), HTTP API (first 300M). */
  apiPer1M: { rest: 3.5, http: 1.0 },
  /** Lambda per 1M requests. */
  lambdaRequestsPer1M: 0.2,
  /** Lambda per GB-second on arm64 (the app's functions are arm64). */
  lambdaArmGbSecond: 0.0000133334,
  /** CloudWatch Logs ingestion per GB (standard class). */
  logsIngestionPerGb: 0.5,
  /** X-Ray per trace recorded. */
  xrayPerTrace: 5.0 / 1_000_000,
  /** SQS standard per request. */
  sqsPerRequest: 0.4 / 1_000_000,
  /** S3 standard PUT per request. */
  s3PutPerRequest: 0.005 / 1000,
} as const;

/**
 * The redaction guardrail's price per sample: one ApplyGuardrail call per sampled query, billed by its sensitive-
 * information filter at $0.10 per 1,000 text units, a text unit being up to 1,000 characters (docs/aws-facts.md §11):
 * a query (at most 1,000 characters; the router's limit is lower) is one unit.
 */
export const REDACTION_USD_PER_SAMPLE = 0.1 / 1000;

/** CloudWatch Logs bills each event's bytes plus 26 bytes of overhead. */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

/**
 * Bytes a routed request writes to CloudWatch Logs, by source. `emf` and `routedLine` are measured on the router
 * (test/router/log-bytes.test.ts runs the handler and checks these against what it prints); `accessLine` is the
 * access log format filled with typical values (test/router/access-log.test.ts renders the deployed formats); `platform` is Lambda's
 * JSON start + report events (AWS's documented shapes, typical values).
 */
export const ROUTER_LOG_BYTES = {
  /** The request's EMF metrics record (service dimension; one per request, one more per variant during a canary). */
  emf: 420,
  /** The "routed" INFO line (request id, kind, count, sources, latency), written for routerLogSampleRate requests. */
  routedLine: 240,
  /** One access log line, by API type. */
  accessLine: { http: 328, rest: 361 },
  /** Lambda's platform.start and platform.report events (system log level INFO). */
  platform: 560,
} as const;

/** X-Ray's default sampling rule: the first request each second, then 5 % of the rest. */
const XRAY_RESERVOIR_PER_SECOND = 1;
const XRAY_FIXED_RATE = 0.05;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

export type ApiType = 'http' | 'rest';
export type RouterTracing = 'passThrough' | 'active';

export interface ServingInputs {
  readonly queriesPerMonth: number;
  /** The student's model cost per 1M queries (the routing estimate's student row). */
  readonly studentModelPer1MUsd: number;
  readonly apiType: ApiType;
  readonly routerMemoryMb: number;
  readonly routerTracing: RouterTracing;
  /** Share of requests whose "routed" line is logged (0-1). */
  readonly routerLogSampleRate: number;
  /** Lambda's start/report events per invocation (system log level INFO) or not (WARN). */
  readonly routerPlatformLogs: boolean;
  /** Share of queries the teacher also labels (shadowSampleRate). */
  readonly shadowSampleRate: number;
  /**
   * The teacher's cost per labelled sample: one call's rules prompt and query in and label out, or, labelled in
   * batches, a batch call's cost shared by its `shadowQueriesPerCall` queries.
   */
  readonly teacherLabelUsd: number;
  /** Samples one teacher call labels on average (1: one call per sample); the labeller's wait is shared alike. */
  readonly shadowQueriesPerCall?: number;
  /** What a sample's teacher label would cost at full batches of shadowLabelBatchSize (shown when it differs). */
  readonly fullBatch?: { readonly size: number; readonly teacherLabelUsd: number };
  /** Shadow labeller memory. */
  readonly labellerMemoryMb: number;
  /**
   * What masking personal data costs per sample (the redaction guardrail, redactPiiTypes): default
   * REDACTION_USD_PER_SAMPLE (redaction on, the default); 0 when redactPiiTypes=none.
   */
  readonly redactionUsdPerSample?: number;
  /** Assumptions that can be overridden (tests, what-ifs). */
  readonly latency?: Partial<ServingLatency>;
}

export interface ServingLatency {
  /** The student's mean latency: the case study's measured 833 ms (an answer in JSON; a tenths answer is shorter). */
  readonly studentMs: number;
  /** The router's own time per request around the model call (parse, cache, parameter, reply, metrics). */
  readonly routerOverheadMs: number;
  /** The teacher's mean latency per label (the case study's teacher-class 1,741 ms): the labeller waits that long. */
  readonly teacherMs: number;
}

export const DEFAULT_SERVING_LATENCY: ServingLatency = { studentMs: 833, routerOverheadMs: 20, teacherMs: 1741 };

export interface ServingPart {
  readonly item: string;
  readonly usdPer1MQueries: number;
}

export interface ServingCost {
  readonly usdPer1MQueries: number;
  readonly parts: readonly ServingPart[];
  readonly assumptions: readonly string[];
}

const MB_PER_GB = 1024;
const BYTES_PER_GB = 1024 ** 3;
const PER_1M = 1_000_000;

/** X-Ray traces recorded per query under the default sampling rule, at a steady `queriesPerMonth`. */
export function xrayTracedShare(queriesPerMonth: number): number {
  if (queriesPerMonth <= 0) return 0;
  const perSecond = queriesPerMonth / SECONDS_PER_MONTH;
  const reservoir = Math.min(perSecond, XRAY_RESERVOIR_PER_SECOND);
  return (reservoir + XRAY_FIXED_RATE * (perSecond - reservoir)) / perSecond;
}

/**
 * Shadow samples one labeller invocation holds on average: the samples that arrive within the event source's batching
 * window, at least one, at most its batch of messages (one sample per message: a sampled single query).
 */
export function shadowSamplesPerInvocation(
  queriesPerMonth: number,
  sampleRate: number,
  batchingWindowSeconds: number,
  messagesPerInvocation: number,
): number {
  const perSecond = (queriesPerMonth * sampleRate) / SECONDS_PER_MONTH;
  return Math.min(messagesPerInvocation, Math.max(1, perSecond * batchingWindowSeconds));
}

/** The full price of 1M routed queries at the given settings, by part, with what it rests on. */
export function estimateServing(inputs: ServingInputs): ServingCost {
  const latency = { ...DEFAULT_SERVING_LATENCY, ...inputs.latency };
  const p = SERVING_PRICES;
  const routerSeconds = (latency.studentMs + latency.routerOverheadMs) / 1000;
  const logBytes =
    ROUTER_LOG_BYTES.emf +
    LOG_EVENT_OVERHEAD_BYTES +
    inputs.routerLogSampleRate * (ROUTER_LOG_BYTES.routedLine + LOG_EVENT_OVERHEAD_BYTES) +
    ROUTER_LOG_BYTES.accessLine[inputs.apiType] +
    LOG_EVENT_OVERHEAD_BYTES +
    (inputs.routerPlatformLogs ? ROUTER_LOG_BYTES.platform + 2 * LOG_EVENT_OVERHEAD_BYTES : 0);
  const traced = inputs.routerTracing === 'active' ? xrayTracedShare(inputs.queriesPerMonth) : 0;
  // Per sample: the teacher's label, the labeller's wait for it, one SendMessage, the receive and delete (at least
  // one each per message), one record object written.
  const perCall = Math.max(1, inputs.shadowQueriesPerCall ?? 1);
  const labellerUsd =
    ((inputs.labellerMemoryMb / MB_PER_GB) * (latency.teacherMs / 1000) * p.lambdaArmGbSecond) / perCall;
  const redactionUsd = inputs.redactionUsdPerSample ?? REDACTION_USD_PER_SAMPLE;
  const perSample =
    inputs.teacherLabelUsd +
    redactionUsd +
    labellerUsd +
    p.lambdaRequestsPer1M / PER_1M +
    3 * p.sqsPerRequest +
    p.s3PutPerRequest;
  const parts: ServingPart[] = [
    { item: 'student model (Bedrock)', usdPer1MQueries: inputs.studentModelPer1MUsd },
    {
      item: `API Gateway (${inputs.apiType === 'http' ? 'HTTP API' : 'REST API'})`,
      usdPer1MQueries: p.apiPer1M[inputs.apiType],
    },
    { item: 'router Lambda requests', usdPer1MQueries: p.lambdaRequestsPer1M },
    {
      item: `router Lambda duration (${inputs.routerMemoryMb} MB arm64)`,
      usdPer1MQueries: PER_1M * (inputs.routerMemoryMb / MB_PER_GB) * routerSeconds * p.lambdaArmGbSecond,
    },
    { item: 'CloudWatch Logs ingestion', usdPer1MQueries: (PER_1M * logBytes * p.logsIngestionPerGb) / BYTES_PER_GB },
    { item: `X-Ray traces (${inputs.routerTracing})`, usdPer1MQueries: PER_1M * traced * p.xrayPerTrace },
    {
      item: 'shadow loop (teacher labels, PII redaction, SQS, labeller, records)',
      usdPer1MQueries: PER_1M * inputs.shadowSampleRate * perSample,
    },
  ];
  const usd = parts.reduce((sum, part) => sum + part.usdPer1MQueries, 0);
  const percent = (share: number) => `${(share * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })} %`;
  return {
    usdPer1MQueries: usd,
    parts,
    assumptions: [
      `the router is billed for the student's latency (${latency.studentMs} ms, the case study's measured mean) plus ` +
        `its own ${latency.routerOverheadMs} ms, at ${inputs.routerMemoryMb} MB; no answer-cache hits (each hit saves ` +
        'the model and most of the duration)',
      `logs per request: the EMF metrics record (${ROUTER_LOG_BYTES.emf} B), one access log line ` +
        `(${ROUTER_LOG_BYTES.accessLine[inputs.apiType]} B), the "routed" line for ${percent(inputs.routerLogSampleRate)} ` +
        `of requests (${ROUTER_LOG_BYTES.routedLine} B)` +
        (inputs.routerPlatformLogs ? `, Lambda's start and report events (${ROUTER_LOG_BYTES.platform} B)` : '') +
        `, each event + ${LOG_EVENT_OVERHEAD_BYTES} B; a canary adds one EMF record per variant while it runs`,
      inputs.routerTracing === 'active'
        ? `X-Ray active tracing, default rule (1 request/s + 5 %): ${percent(traced)} of queries traced at ` +
          `${inputs.queriesPerMonth.toLocaleString('en-US')} queries/month`
        : 'X-Ray pass-through: the router is traced only when its caller samples the request (not priced here)',
      `shadow loop: ${percent(inputs.shadowSampleRate)} of queries labelled by the teacher, ` +
        (perCall > 1 ? `${perCall.toLocaleString('en-US', { maximumFractionDigits: 1 })} per call` : 'one call each') +
        ` ($${inputs.teacherLabelUsd.toPrecision(3)} a label), the labeller (${inputs.labellerMemoryMb} MB) waiting ` +
        `${latency.teacherMs} ms per call, ` +
        (redactionUsd > 0 ? `one redaction guardrail call ($${redactionUsd.toPrecision(2)}), ` : 'no redaction, ') +
        '3 SQS requests and 1 S3 PUT per sample' +
        (inputs.fullBatch && inputs.fullBatch.size > perCall
          ? `; a call holds only the samples of one invocation (the queue's batching window), so at this traffic ` +
            `batching saves ${perCall > 1 ? 'part' : 'nothing'}; at full batches of ${inputs.fullBatch.size} a label ` +
            `would cost $${inputs.fullBatch.teacherLabelUsd.toPrecision(3)} ` +
            `(${(PER_1M * inputs.shadowSampleRate * (inputs.teacherLabelUsd - inputs.fullBatch.teacherLabelUsd)).toFixed(2)} ` +
            'USD less per 1M queries)'
          : ''),
      "not per query: the shadow queue's pollers, the hourly drift function, alarms, the dashboard and custom metrics " +
        '(a few dollars a month whatever the traffic)',
      'AWS us-east-1 list prices, first tier, as read 2026-12 (docs/aws-facts.md §10)',
    ],
  };
}
