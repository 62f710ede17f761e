import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { normaliseQuery } from '../../lambda/core/query-key';
import { MAX_QUERY_LENGTH } from '../../lambda/router/contract';
import { parseRequest } from '../../lambda/router/request';
import { parseRouterSettings, routerEnvironment, type RouterSettings } from '../../lambda/router/settings';

type Event = Parameters<typeof parseRequest>[0];
const post = (body: string | null, overrides: Partial<APIGatewayProxyEvent> = {}): Event => ({
  resource: '/v1/route',
  path: '/v1/route',
  httpMethod: 'POST',
  headers: { 'Content-Type': 'application/json' },
  isBase64Encoded: false,
  body,
  ...overrides,
});
const batch = (body: unknown) => post(JSON.stringify(body), { resource: '/v1/route/batch', path: '/v1/route/batch' });

describe('parseRequest', () => {
  it('accepts a query and trims it', () => {
    expect(parseRequest(post('{"query":"  dog barking loudly  "}'))).toEqual({
      ok: true,
      kind: 'single',
      queries: ['dog barking loudly'],
    });
  });

  it('accepts a batch, in order, and a JSON content type with a charset', () => {
    const event = batch({ queries: ['a', 'b', 'c'] });
    event.headers = { 'content-type': 'application/json; charset=utf-8' };
    expect(parseRequest(event)).toEqual({ ok: true, kind: 'batch', queries: ['a', 'b', 'c'] });
  });

  it('reads a base64-encoded body and a body without content type', () => {
    const body = Buffer.from('{"query":"Taylor Swift"}').toString('base64');
    expect(parseRequest(post(body, { isBase64Encoded: true, headers: {} }))).toMatchObject({ ok: true });
  });

  it.each([
    ['missing query', '{}', 'INVALID_REQUEST', /"query" is missing/],
    ['empty query', '{"query":""}', 'INVALID_REQUEST', /"query" is invalid.*1-512 characters/],
    ['blank query', '{"query":"   \\t "}', 'INVALID_REQUEST', /"query" is invalid \(got a blank string\).*not blank/],
    [
      'too long query',
      JSON.stringify({ query: 'a'.repeat(513) }),
      'INVALID_REQUEST',
      /"query" is invalid \(got 513 characters\).*1-512/,
    ],
    ['number query', '{"query":42}', 'INVALID_REQUEST', /"query" is invalid \(got a number\): it must be a string/],
    ['null query', '{"query":null}', 'INVALID_REQUEST', /"query" is invalid/],
    ['array query', '{"query":["a"]}', 'INVALID_REQUEST', /"query" is invalid/],
    ['unknown field', '{"query":"a","limit":3}', 'INVALID_REQUEST', /unknown field "limit".*send only "query"/],
    ['array body', '["a"]', 'INVALID_REQUEST', /the body must be a JSON object/],
    ['string body', '"a"', 'INVALID_REQUEST', /the body must be a JSON object/],
    ['invalid JSON', '{"query": "a"', 'INVALID_JSON', /not valid JSON.*\{"query"/],
    ['empty body', '', 'INVALID_REQUEST', /the body is empty/],
  ])('refuses a %s with 400 naming the problem', (_name, body, code, message) => {
    const result = parseRequest(post(body));
    expect(result).toMatchObject({ ok: false, status: 400, code });
    expect(!result.ok && result.message).toMatch(message);
  });

  describe('counts characters as the limit does (code points: an emoji is one character, two UTF-16 units)', () => {
    // Astral characters (U+10000-U+10FFFF: emoji, CJK extension B…), none of them whitespace, mixed with BMP ones.
    const astral = fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));
    const character = fc.oneof(
      { weight: 3, arbitrary: astral },
      { weight: 1, arbitrary: fc.constantFrom('a', 'é', '中') },
    );
    const aroundTheLimit = fc.array(character, { minLength: MAX_QUERY_LENGTH - 8, maxLength: MAX_QUERY_LENGTH + 8 });

    it('accepts up to the limit and refuses beyond it, reporting the same count, single and batch', () => {
      fc.assert(
        fc.property(aroundTheLimit, fc.integer({ min: 0, max: 3 }), (characters, index) => {
          const query = characters.join('');
          const count = characters.length;
          const single = parseRequest(post(JSON.stringify({ query })));
          const queries = Array.from({ length: 4 }, (_, i) => (i === index ? query : 'ok'));
          const many = parseRequest(batch({ queries }));
          if (count <= MAX_QUERY_LENGTH) {
            expect(single).toEqual({ ok: true, kind: 'single', queries: [query] });
            expect(many).toMatchObject({ ok: true, queries });
          } else {
            expect(single).toMatchObject({ ok: false, status: 400, code: 'INVALID_REQUEST' });
            expect(!single.ok && single.message).toBe(
              `"query" is invalid (got ${count} characters): it must be a string of 1-${MAX_QUERY_LENGTH} characters, not blank`,
            );
            expect(!many.ok && many.message).toMatch(`"queries[${index}]" is invalid (got ${count} characters)`);
          }
        }),
      );
    });

    it('reports 513 emoji as 513 characters, not 1026', () => {
      const result = parseRequest(post(JSON.stringify({ query: '😀'.repeat(513) })));
      expect(!result.ok && result.message).toMatch(/^"query" is invalid \(got 513 characters\): .*1-512 characters/);
      expect(parseRequest(post(JSON.stringify({ query: '😀'.repeat(512) })))).toMatchObject({ ok: true });
    });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp'])(
    'refuses content type %s with 400',
    (contentType) => {
      const result = parseRequest(post('{"query":"a"}', { headers: { 'content-type': contentType } }));
      expect(result).toMatchObject({ ok: false, status: 400, code: 'UNSUPPORTED_CONTENT_TYPE' });
      expect(!result.ok && result.message).toMatch(/Content-Type: application\/json/);
    },
  );

  it.each([
    ['too many queries', { queries: Array.from({ length: 26 }, (_, i) => `q${i}`) }, /"queries" is invalid.*1-25/],
    ['no queries', { queries: [] }, /"queries" is invalid.*1-25/],
    ['queries not an array', { queries: 'a' }, /"queries" is invalid/],
    ['missing queries', {}, /"queries" is missing/],
    ['one bad item', { queries: ['ok', 'fine', ''] }, /"queries\[2\]" is invalid.*1-512 characters/],
    ['a non-string item', { queries: ['ok', 7] }, /"queries\[1\]" is invalid/],
  ])('refuses a batch with %s, naming the field', (_name, body, message) => {
    const result = parseRequest(batch(body));
    expect(result).toMatchObject({ ok: false, status: 400, code: 'INVALID_REQUEST' });
    expect(!result.ok && result.message).toMatch(message);
  });

  it('answers 404 for an unknown route and 405 for another method', () => {
    expect(parseRequest(post('{}', { resource: '/v2/route', path: '/v2/route' }))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(parseRequest(post(null, { httpMethod: 'GET' }))).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
  });
});

describe('normaliseQuery', () => {
  it('ignores case, surrounding and repeated whitespace, and compatibility forms', () => {
    expect(normaliseQuery('  Dog \t BARKING\nloudly ')).toBe('dog barking loudly');
    expect(normaliseQuery('ﬁre truck')).toBe(normaliseQuery('fire truck'));
    expect(normaliseQuery('dog barking')).not.toBe(normaliseQuery('dog barking loudly'));
  });
});

describe('router settings', () => {
  const settings: RouterSettings = {
    activeModelParameter: '/intent-router/dev/active-model',
    parameterCacheTtlSeconds: 60,
    latencyBudgetMs: 1500,
    fallbackModelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    defaultWeights: { visual: 0.4, audio: 0.2, transcription: 0.2, metadata: 0.2 },
    cacheSize: 10000,
    cacheTtlSeconds: 300,
    logQueries: false,
    maxTokens: 80,
    corsAllowOrigins: ['https://search.example.com'],
  };

  it('round-trips through the environment the construct sets', () => {
    expect(parseRouterSettings(routerEnvironment(settings))).toEqual(settings);
    const { fallbackModelId: _unused, ...withoutFallback } = settings;
    expect(parseRouterSettings(routerEnvironment({ ...withoutFallback, corsAllowOrigins: [] }))).toEqual({
      ...withoutFallback,
      corsAllowOrigins: [],
    });
  });

  it('reads a blank FALLBACK_MODEL_ID as no fallback model', () => {
    const env = { ...routerEnvironment(settings), FALLBACK_MODEL_ID: '' };
    expect(parseRouterSettings(env).fallbackModelId).toBeUndefined();
    expect('fallbackModelId' in parseRouterSettings(env)).toBe(false);
  });

  it.each([
    ['LATENCY_BUDGET_MS', '50', /LATENCY_BUDGET_MS \(given: "50"\): must be a whole number from 100 to 29000/],
    ['DEFAULT_WEIGHTS', '{"visual":1}', /DEFAULT_WEIGHTS \(given: .*\): must be JSON with the four weights/],
    ['DEFAULT_WEIGHTS', '{"visual":0.5,"audio":0.2,"transcription":0.2,"metadata":0.2}', /must sum to 1/],
    ['LOG_QUERIES', 'yes', /LOG_QUERIES \(given: "yes"\): must be true or false/],
    ['ACTIVE_MODEL_PARAMETER_NAME', undefined, /ACTIVE_MODEL_PARAMETER_NAME \(not set\)/],
    ['ACTIVE_MODEL_PARAMETER_NAME', 'active-model', /ACTIVE_MODEL_PARAMETER_NAME .*: must be an SSM parameter name/],
    ['CACHE_SIZE', '1.5', /CACHE_SIZE \(given: "1.5"\): must be a whole number from 0 to 1000000/],
    ['MAX_TOKENS', 'many', /MAX_TOKENS \(given: "many"\): must be a whole number from 16 to 1024/],
    [
      'FALLBACK_MODEL_ID',
      'haiku please',
      /FALLBACK_MODEL_ID .*: must be a Bedrock model id, inference profile id or ARN/,
    ],
    [
      'CORS_ALLOW_ORIGINS',
      'ftp://files.example.com',
      /CORS_ALLOW_ORIGINS .*: must be comma-separated http\(s\) origins/,
    ],
  ])('fails at init naming %s when it is %p', (name, value, message) => {
    const env: Record<string, string | undefined> = { ...routerEnvironment(settings), [name]: value };
    expect(() => parseRouterSettings(env)).toThrow(message);
  });
});
