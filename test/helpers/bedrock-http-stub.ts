import { Readable } from 'node:stream';
import type { ConverseCommandInput, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { HttpResponse, type HttpHandler, type HttpRequest } from '@smithy/core/protocols';

/**
 * Bedrock runtime's Converse as an SDK `requestHandler`: below the SDK's middleware, so its retry strategies
 * (standard, adaptive) run as they would against Bedrock — which aws-sdk-client-mock, replacing `send`, bypasses.
 * `answer` decides per request: a throttling 429, or a Converse output sent back in the wire format.
 */
export type StubAnswer =
  { readonly throttle: true } | { readonly output: ConverseCommandOutput; readonly latencyMs?: number };

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function converseHttpStub(answer: (input: ConverseCommandInput) => StubAnswer): HttpHandler {
  const respond = async (request: HttpRequest): Promise<HttpResponse> => {
    const modelId = decodeURIComponent(/\/model\/([^/]+)\/converse/.exec(request.path)?.[1] ?? '');
    // Read the bytes through their buffer: Buffer.from(body) calls the SDK body adapter's valueOf, which warns.
    const text =
      request.body instanceof Uint8Array
        ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8')
        : String(request.body);
    const result = answer({ modelId, ...(JSON.parse(text) as Omit<ConverseCommandInput, 'modelId'>) });
    if ('throttle' in result) {
      await wait(20 + Math.random() * 20);
      return new HttpResponse({
        statusCode: 429,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' },
        body: Readable.from([Buffer.from('{"message":"Too many requests, please wait before trying again."}')]),
      });
    }
    if (result.latencyMs) await wait(result.latencyMs);
    const { output, stopReason, usage, metrics } = result.output;
    return new HttpResponse({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'stub' },
      body: Readable.from([Buffer.from(JSON.stringify({ output, stopReason, usage, metrics }))]),
    });
  };
  return {
    handle: async (request: HttpRequest) => ({ response: await respond(request) }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
}
