import { ROUTER_LOG_BYTES } from '../../lambda/pipeline/cost/serving-cost';
import { ACCESS_LOG_FIELDS, accessLogFormat } from '../../lib/constructs/router-access-log';

/**
 * The access log keeps what an operator reads and nothing else; its size per request is what CloudWatch Logs bills on
 * every query (docs/router.md, "Logs and traces": the figures below).
 */

/** A typical successful IAM-signed request, as API Gateway fills the variables ("-" where a value is empty). */
const TYPICAL: Record<string, string> = {
  '$context.requestId': 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  '$context.requestTime': '07/Dec/2026:02:04:39 +0000',
  '$context.httpMethod': 'POST',
  '$context.resourcePath': '/v1/route',
  '$context.routeKey': 'POST /v1/route',
  '$context.status': '200',
  '$context.responseLatency': '871',
  '$context.integration.latency': '866',
  '$context.integrationLatency': '866',
  '$context.identity.caller': 'AROA3XFRBF535PLBIFPI4:search-service',
  '$context.identity.userArn': 'arn:aws:sts::123456789012:assumed-role/search-service/search-service',
  '$context.identity.apiKeyId': '-',
  '$context.error.responseType': '-',
  '$context.error.message': '-',
  '$context.error.validationErrorString': '-',
  '$context.integrationErrorMessage': '-',
};
/** An HTTP API's request ids are shorter than a REST API's UUIDs. */
const HTTP_REQUEST_ID = 'JKJaXmPLvHcESHA=';

const render = (kind: 'http' | 'rest') =>
  Object.entries(TYPICAL).reduce(
    (line, [variable, value]) =>
      line.replaceAll(
        `"${variable}"`,
        JSON.stringify(kind === 'http' && variable === '$context.requestId' ? HTTP_REQUEST_ID : value),
      ),
    accessLogFormat(kind),
  );

describe('the access log line', () => {
  it.each(['http', 'rest'] as const)('%s: holds what operators read, as JSON with every variable filled', (kind) => {
    const line = JSON.parse(render(kind)) as Record<string, string>;
    expect(Object.keys(line)).toEqual(
      expect.arrayContaining([
        'requestId',
        'requestTime',
        'httpMethod',
        'status',
        'responseLatency',
        'integrationLatency',
        'userArn',
        'errorType',
        'errorMessage',
      ]),
    );
    expect(Object.values(line).filter((v) => v.startsWith('$context'))).toEqual([]);
    expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['sourceIp']));
    expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['xrayTraceId']));
  });

  it('names the route on each kind of API, and why a REST body or an HTTP API integration failed', () => {
    expect(ACCESS_LOG_FIELDS.rest).toMatchObject({
      resourcePath: '$context.resourcePath',
      validationError: expect.any(String),
      apiKeyId: expect.any(String),
    });
    expect(ACCESS_LOG_FIELDS.http).toMatchObject({
      routeKey: '$context.routeKey',
      integrationError: '$context.integrationErrorMessage',
    });
  });

  it('is 328 bytes (HTTP API) or 361 bytes (REST API) for a typical request: docs/router.md and the serving cost', () => {
    expect(Buffer.byteLength(render('http'))).toBe(HTTP_BYTES);
    expect(Buffer.byteLength(render('rest'))).toBe(REST_BYTES);
    // What `npm run cost` prices for each access log line.
    expect(ROUTER_LOG_BYTES.accessLine).toEqual({ http: HTTP_BYTES, rest: REST_BYTES });
  });
});

const HTTP_BYTES = 328;
const REST_BYTES = 361;
