import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
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

/** The SDK clients, exported so the benchmark can stub them at the SDK boundary inside the deployed bundle. */
export const clients = { bedrock, ssm };

export const handler = buildRouterHandler({
  settings,
  bedrock,
  parameters,
  logger,
  metrics,
  flush: () => metrics.publishStoredMetrics(),
});
