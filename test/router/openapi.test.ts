import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { publishedJsonSchemas } from '../../lib/constructs/router-api';
import { BATCH_PATH, ROUTE_PATH, routeResponseSchema } from '../../lambda/router/contract';
import { synth } from '../helpers/app';

interface OpenApiOperation {
  operationId: string;
  requestBody: { content: Record<string, { schema: { $ref: string }; example: unknown }> };
  responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }>;
}
interface OpenApi {
  openapi: string;
  servers: { url: string; description: string; variables: Record<string, { default: string }> }[];
  paths: Record<string, { post: OpenApiOperation }>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

const doc = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8')) as OpenApi;
const refName = (ref: { $ref: string } | undefined) => ref?.$ref.replace('#/components/schemas/', '');

/** What the synthesized API deploys, per path: operation, request model, response models by status. */
function deployed(template: Template) {
  const res = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  const pathOf = (resourceId: string): string => {
    const r = res[resourceId];
    if (!r || r.Type !== 'AWS::ApiGateway::Resource') return '';
    const parent = (r.Properties['ParentId'] as { Ref?: string }).Ref ?? '';
    return `${pathOf(parent)}/${r.Properties['PathPart'] as string}`;
  };
  const modelName = (ref: { Ref: string } | undefined) => res[ref?.Ref ?? '']?.Properties['Name'] as string | undefined;
  const models = Object.fromEntries(
    Object.values(res)
      .filter((r) => r.Type === 'AWS::ApiGateway::Model')
      .map((r) => [r.Properties['Name'] as string, r.Properties['Schema'] as Record<string, unknown>]),
  );
  const methods = Object.values(res)
    .filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties['HttpMethod'] === 'POST')
    .map((r) => {
      const p = r.Properties as Record<string, unknown>;
      return {
        path: pathOf((p['ResourceId'] as { Ref: string }).Ref),
        operationId: p['OperationName'] as string,
        request: modelName((p['RequestModels'] as Record<string, { Ref: string }>)['application/json']),
        responses: Object.fromEntries(
          (p['MethodResponses'] as { StatusCode: string; ResponseModels: Record<string, { Ref: string }> }[]).map(
            (m) => [m.StatusCode, modelName(m.ResponseModels['application/json'])],
          ),
        ),
      };
    });
  return { models, methods };
}

describe('docs/openapi.json', () => {
  // The REST API deploys the models (apiType=rest); the HTTP API (the default) serves the same paths, checked below.
  const { models, methods } = deployed(synth({ apiType: 'rest' }).templates.api);

  it("lists one server per kind of API, each the stack's ApiUrl output without its trailing /", () => {
    expect(doc.servers.map((s) => s.url)).toEqual([
      'https://{apiId}.execute-api.{region}.amazonaws.com',
      'https://{apiId}.execute-api.{region}.amazonaws.com/api',
    ]);
    expect(doc.servers[0]?.description).toMatch(/apiType=http/);
    expect(doc.servers[1]?.description).toMatch(/apiType=rest/);
  });

  it('documents exactly the routes the HTTP API serves', () => {
    const routeKeys = Object.values(
      synth().templates.api.toJSON().Resources as Record<string, { Type: string; Properties: { RouteKey?: string } }>,
    )
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties.RouteKey);
    expect(routeKeys.sort()).toEqual(
      Object.keys(doc.paths)
        .map((p) => `POST ${p}`)
        .sort(),
    );
  });

  it('is an OpenAPI 3 document of exactly the deployed paths', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual([ROUTE_PATH, BATCH_PATH].sort());
    expect(methods.map((m) => m.path).sort()).toEqual([ROUTE_PATH, BATCH_PATH].sort());
  });

  it('documents each method with the deployed operation, request model and response models', () => {
    for (const method of methods) {
      const op = doc.paths[method.path]?.post;
      expect(op?.operationId).toBe(method.operationId);
      expect(refName(op?.requestBody.content['application/json']?.schema)).toBe(method.request);
      for (const [status, model] of Object.entries(method.responses)) {
        expect([status, refName(op?.responses[status]?.content['application/json']?.schema)]).toEqual([status, model]);
      }
    }
  });

  it('holds the same schemas as the deployed API Gateway models (the zod contract)', () => {
    const contract = publishedJsonSchemas();
    expect(Object.keys(doc.components.schemas).sort()).toEqual(Object.keys(contract).sort());
    for (const [name, schema] of Object.entries(contract)) {
      const { $schema: _draft, ...withoutDraft } = schema;
      expect([name, doc.components.schemas[name]]).toEqual([name, withoutDraft]);
      expect([name, models[name]]).toEqual([name, schema]);
    }
  });

  it("has examples that the Lambda's contract accepts", () => {
    const route = doc.paths[ROUTE_PATH]?.post.requestBody.content['application/json']?.example;
    expect(route).toEqual({ query: expect.any(String) });
    // And the response schema is the one the handler tests parse every answer with.
    expect(
      routeResponseSchema.safeParse({
        weights: { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 },
        dominant: 'audio',
        model: 'x',
        source: 'student',
        latencyMs: 3,
        requestId: 'r',
      }).success,
    ).toBe(true);
  });
});
