import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseRouterSettings } from './settings';
import { buildRouterHandler } from './wiring';

// Module scope: built once per container. A bad environment fails the init with the variable named.
const settings = parseRouterSettings(process.env);
const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

// No SDK retries: a throttled or slow model falls back within the latency budget instead.
const bedrock = tracer.captureAWSv3Client(new BedrockRuntimeClient({ maxAttempts: 1 }));
const ssm = tracer.captureAWSv3Client(new SSMClient({ maxAttempts: 2 }));
const parameters = new SSMProvider({ awsSdkV3Client: ssm });
// Only with shadow sampling on; one attempt: the hand-off is bounded by SHADOW_HANDOFF_TIMEOUT_MS, and a lost sample
// is counted, not retried on the request path.
const sqs = settings.shadow ? tracer.captureAWSv3Client(new SQSClient({ maxAttempts: 1 })) : undefined;

/** The SDK clients, exported so the benchmark can stub them at the SDK boundary inside the deployed bundle. */
export const clients = { bedrock, ssm, sqs };

export const handler = buildRouterHandler({
  settings,
  bedrock,
  parameters,
  ...(sqs ? { sqs } : {}),
  logger,
  metrics,
  flush: () => metrics.publishStoredMetrics(),
});
