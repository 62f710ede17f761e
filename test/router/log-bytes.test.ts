import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { RouterSettings } from '../../lambda/router/settings';
import { buildRouterHandler } from '../../lambda/router/wiring';
import { ROUTER_LOG_BYTES } from '../../lambda/pipeline/cost/serving-cost';
import { AUDIO, parameterReply, PROMOTED, ROUTER_SETTINGS, studentReply } from '../helpers/router-fixtures';

/**
 * What the router writes to its log group per request, measured on the real handler with Powertools writing to
 * stdout: the serving cost prices these bytes (ROUTER_LOG_BYTES), so they must stay what it says. Also the routed
 * line's sampling (routerLogSampleRate), which is what keeps the log bill at a fraction of the model's.
 */
const bedrockMock = mockClient(BedrockRuntimeClient);
const ssmMock = mockClient(SSMClient);
const REQUESTS = 200;

async function routeAndCapture(settings: RouterSettings): Promise<string[]> {
  bedrockMock.on(ConverseCommand).resolves(studentReply(AUDIO));
  ssmMock.on(GetParameterCommand).resolves(parameterReply(PROMOTED));
  const metrics = new Metrics({ namespace: 'DistilledIntentRouter', serviceName: 'intent-router' });
  const handler = buildRouterHandler({
    settings,
    bedrock: new BedrockRuntimeClient({ region: 'us-east-1' }),
    parameters: new SSMProvider({ awsSdkV3Client: new SSMClient({ region: 'us-east-1' }) }),
    logger: new Logger({ serviceName: 'intent-router', logLevel: 'INFO' }),
    metrics,
    flush: () => metrics.publishStoredMetrics(),
  });
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    for (let i = 0; i < REQUESTS; i++) {
      await handler({
        resource: '/v1/route',
        path: '/v1/route',
        httpMethod: 'POST',
        headers: { 'content-type': 'application/json' },
        // Distinct queries of typical length, so none is a cache hit.
        body: JSON.stringify({ query: `dog barking loudly in the park number ${i}` }),
        isBase64Encoded: false,
        requestContext: { requestId: `c0b1a2d3-e4f5-4a6b-8c7d-${String(i).padStart(12, '0')}` },
      });
    }
  } finally {
    write.mockRestore();
  }
  return written.join('').split('\n').filter(Boolean);
}

const bytes = (lines: string[]) => lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);

afterEach(() => {
  bedrockMock.reset();
  ssmMock.reset();
});

it('writes one EMF record per request, and the routed line every time at rate 1: the sizes the cost model prices', async () => {
  const lines = await routeAndCapture(ROUTER_SETTINGS);
  const emf = lines.filter((l) => l.includes('"_aws"'));
  const routed = lines.filter((l) => l.includes('"message":"routed"'));
  expect(emf).toHaveLength(REQUESTS);
  expect(routed).toHaveLength(REQUESTS);
  // Within 10 % of what the serving estimate assumes (a request id, a timestamp and a latency vary in length).
  expect(bytes(emf) / REQUESTS).toBeGreaterThan(ROUTER_LOG_BYTES.emf * 0.9);
  expect(bytes(emf) / REQUESTS).toBeLessThan(ROUTER_LOG_BYTES.emf * 1.1);
  expect(bytes(routed) / REQUESTS).toBeGreaterThan(ROUTER_LOG_BYTES.routedLine * 0.9);
  expect(bytes(routed) / REQUESTS).toBeLessThan(ROUTER_LOG_BYTES.routedLine * 1.1);
});

it.each([0, 0.25])('logs the routed line for a share %p of requests, and every EMF record', async (rate) => {
  const lines = await routeAndCapture({ ...ROUTER_SETTINGS, routedLogSampleRate: rate });
  expect(lines.filter((l) => l.includes('"_aws"'))).toHaveLength(REQUESTS);
  const routed = lines.filter((l) => l.includes('"message":"routed"')).length;
  // Binomial(200, rate): within 4 standard deviations.
  const sd = Math.sqrt(REQUESTS * rate * (1 - rate));
  expect(Math.abs(routed - REQUESTS * rate)).toBeLessThanOrEqual(4 * sd);
});
