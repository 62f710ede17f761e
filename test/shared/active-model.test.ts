import fc from 'fast-check';
import {
  activeModelSchema,
  CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH,
  InvalidActiveModel,
  promoteCanary,
  readActiveModel,
  variantOf,
  withCanary,
  withoutCanary,
} from '../../lambda/core/active-model';
import { queryBucket } from '../../lambda/core/shadow';
import type { ModelMetrics } from '../../lambda/pipeline/evaluation/metrics';
import { activeModelValue, planRollback } from '../../lambda/pipeline/rollout/promotion';

const promoted = {
  deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456',
  modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/xyz',
  runId: 'run-1',
  promotedAt: '2026-11-25T20:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: { judgeScore: 4.2 },
};

describe('readActiveModel', () => {
  it.each([undefined, '', 'none', ' none '])('reads %p as nothing promoted', (value) => {
    expect(readActiveModel(value)).toEqual({ state: 'none' });
  });

  it('reads a promoted model', () => {
    expect(readActiveModel(JSON.stringify(promoted))).toEqual({ state: 'promoted', model: promoted });
  });

  it('says why a value is invalid', () => {
    expect(readActiveModel('{oops')).toEqual({ state: 'invalid', reason: 'the value is not JSON' });
    const bad = readActiveModel(JSON.stringify({ ...promoted, deploymentArn: 'us.amazon.nova-micro-v1:0' }));
    expect(bad.state).toBe('invalid');
    expect(bad.state === 'invalid' && bad.reason).toMatch(/^deploymentArn: /);
  });

  it.each([
    [{ deploymentArn: undefined }, 'deploymentArn: is missing'],
    [{ deploymentArn: 'us.amazon.nova-micro-v1:0' }, /^deploymentArn: must be a custom-model deployment ARN \(arn:/],
    [{ promotedAt: 'yesterday' }, /^promotedAt: must be an ISO 8601 date-time/],
    [{ runId: '' }, 'runId: must not be empty'],
    [{ metrics: { judgeScore: 'high' } }, 'metrics.judgeScore: must be a number'],
  ])('names the field and the rule for %p', (change, reason) => {
    const read = readActiveModel(JSON.stringify({ ...promoted, ...change }));
    expect(read.state).toBe('invalid');
    expect(read.state === 'invalid' && read.reason).toMatch(reason);
  });

  it('defaults the metrics, and the schema parses (and refuses) like any zod schema', () => {
    const { metrics: _unused, ...withoutMetrics } = promoted;
    expect(readActiveModel(JSON.stringify(withoutMetrics))).toEqual({
      state: 'promoted',
      model: { ...withoutMetrics, metrics: {} },
    });
    expect(activeModelSchema.parse(promoted)).toEqual(promoted);
    expect(() => activeModelSchema.parse({ ...promoted, modelArn: 'x' })).toThrow(/must be an ARN/);
  });
});

// The documented pattern of a custom-model deployment ARN (Bedrock API reference, CustomModelDeploymentSummary):
// arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment/[a-z0-9]{12}
const lowerAlnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const chars = (alphabet: fc.Arbitrary<string>, minLength: number, maxLength: number) =>
  fc.array(alphabet, { minLength, maxLength }).map((c) => c.join(''));
const arnParts = fc.record({
  partition: fc.constantFrom('aws', 'aws-cn', 'aws-us-gov', 'aws-iso-b'),
  region: chars(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')), 1, 20),
  account: chars(fc.constantFrom(...'0123456789'.split('')), 12, 12),
});
const arnWith = (p: { partition: string; region: string; account: string }, id: string) =>
  `arn:${p.partition}:bedrock:${p.region}:${p.account}:custom-model-deployment/${id}`;
const validArn = fc.tuple(arnParts, chars(lowerAlnum, 12, 12)).map(([p, id]) => arnWith(p, id));
/** A well-formed ARN but for its id, of any length other than 12 (0-40). */
const wrongIdLengthArn = fc
  .tuple(
    arnParts,
    fc.integer({ min: 0, max: 40 }).filter((n) => n !== 12),
  )
  .chain(([p, n]) => chars(lowerAlnum, n, n).map((id) => arnWith(p, id)));

const withDeployment = (deploymentArn: string) => JSON.stringify({ ...promoted, deploymentArn });
const metrics: ModelMetrics = {
  modelId: 'student',
  queries: 50,
  validReplies: 50,
  validReplyRate: 1,
  dominantAgreement: 0.9,
  meanAbsoluteError: { visual: 0.05, audio: 0.05, transcription: 0.05, metadata: 0.05 },
  meanAbsoluteErrorOverall: 0.05,
  latencyMs: { p50: 300, p95: 500, mean: 320 },
  meanInputTokens: 40,
  meanOutputTokens: 20,
  costPer1kQueriesUsd: 0.01,
};
const judge = { mean: 4.1, scored: 50, unscored: 0, reportedScale: 'rubric' } as const;
const promotion = (deploymentArn: string) => ({
  runId: 'run-2',
  deploymentArn,
  modelArn: promoted.modelArn,
  student: metrics,
  judge: { student: judge, baseline: judge },
  promotedAt: '2026-11-26T10:00:00.000Z',
  studentPromptVersion: 'student-v2',
});

describe("the deployment ARN: Bedrock's documented pattern, where the parameter is read and written", () => {
  it('reads (router) and writes (Promote) every ARN of the documented pattern', () => {
    fc.assert(
      fc.property(validArn, (arn) => {
        expect(readActiveModel(withDeployment(arn))).toMatchObject({
          state: 'promoted',
          model: { deploymentArn: arn },
        });
        expect(activeModelValue(promotion(arn)).deploymentArn).toBe(arn);
      }),
    );
  });

  it('refuses a deployment id of any length but 12, naming deploymentArn, in the reader and in both writers', () => {
    fc.assert(
      fc.property(wrongIdLengthArn, (arn) => {
        const read = readActiveModel(withDeployment(arn));
        expect(read).toEqual({
          state: 'invalid',
          reason: expect.stringMatching(/^deploymentArn: must be a custom-model deployment ARN/),
        });
        // Promote writes through activeModelValue…
        expect(() => activeModelValue(promotion(arn))).toThrow(InvalidActiveModel);
        expect(() => activeModelValue(promotion(arn))).toThrow(
          /^the active-model value is invalid: deploymentArn: must be a custom-model deployment ARN .*<12 lower-case letters or digits>/,
        );
        // …and rollback only restores what planRollback accepts.
        const history = [
          { version: 1, value: withDeployment(arn) },
          { version: 2, value: withDeployment(promoted.deploymentArn.replace('abc123def456', 'fed654cba321')) },
        ];
        expect(planRollback(history)).toEqual({
          ok: false,
          reason: expect.stringMatching(
            /^the previous value \(version 1\) is invalid: deploymentArn: must be a custom-model/,
          ),
        });
      }),
    );
  });

  it.each([
    ['an upper-case id', 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/ABC123DEF456'],
    ['an 11-digit account', 'arn:aws:bedrock:us-east-1:12345678901:custom-model-deployment/abc123def456'],
    [
      'a region of 21 characters',
      `arn:aws:bedrock:${'a'.repeat(21)}:123456789012:custom-model-deployment/abc123def456`,
    ],
    ['another service', 'arn:aws:sagemaker:us-east-1:123456789012:custom-model-deployment/abc123def456'],
    ['a custom model ARN', 'arn:aws:bedrock:us-east-1:123456789012:custom-model/abc123def456'],
    ['a trailing path', 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456/x'],
    [
      `more than ${CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH} characters`,
      `arn:aws-${'x'.repeat(CUSTOM_MODEL_DEPLOYMENT_ARN_MAX_LENGTH)}:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456`,
    ],
  ])('refuses %s', (_name, arn) => {
    expect(readActiveModel(withDeployment(arn))).toMatchObject({ state: 'invalid', reason: /^deploymentArn: / });
    expect(() => activeModelValue(promotion(arn))).toThrow(/deploymentArn: must be a custom-model deployment ARN/);
  });
});

describe('schema version 2: a canary candidate beside the incumbent', () => {
  const candidate = {
    deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/fff000fff000',
    modelArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/new',
    runId: 'run-2',
    studentPromptVersion: 'student-v1',
    share: 0.1,
    startedAt: '2026-11-26T10:00:00.000Z',
  };
  const incumbent = activeModelSchema.parse(promoted);

  it('keeps the incumbent in the version-1 fields, so a router of version 1 keeps serving it', () => {
    const value = withCanary(incumbent, candidate);
    const read = readActiveModel(JSON.stringify(value));
    expect(read).toMatchObject({ state: 'promoted', model: { schemaVersion: 2, canary: { runId: 'run-2' } } });
    // What a version-1 reader sees: the same incumbent fields, the canary ignored.
    const { schemaVersion: _v, canary: _c, ...v1 } = value;
    expect(v1).toEqual(incumbent);
  });

  it('refuses a value newer than it understands, naming both versions', () => {
    const read = readActiveModel(JSON.stringify({ ...promoted, schemaVersion: 3 }));
    expect(read).toEqual({
      state: 'invalid',
      reason: expect.stringMatching(/^schemaVersion: is newer than this reader understands \(2\)/),
    });
  });

  it.each([
    [{ share: 0 }, /invalid: canary\.share: must be above 0/],
    [{ share: 1.5 }, /invalid: canary\.share: must be at most 1/],
    [
      { deploymentArn: 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/short' },
      /invalid: canary\.deploymentArn: must be a custom-model deployment ARN/,
    ],
  ])('refuses a canary %j', (patch, message) => {
    expect(() => withCanary(incumbent, { ...candidate, ...patch })).toThrow(InvalidActiveModel);
    expect(() => withCanary(incumbent, { ...candidate, ...patch })).toThrow(message);
  });

  it('promotes the candidate, or drops it, leaving one model', () => {
    const value = withCanary(incumbent, candidate);
    const promotedValue = promoteCanary(value, new Date('2026-11-26T11:00:00.000Z'));
    expect(promotedValue).toEqual({
      schemaVersion: 2,
      deploymentArn: candidate.deploymentArn,
      modelArn: candidate.modelArn,
      runId: 'run-2',
      promotedAt: '2026-11-26T11:00:00.000Z',
      studentPromptVersion: 'student-v1',
      metrics: {},
    });
    expect(withoutCanary(value)).toEqual({ ...incumbent, schemaVersion: 2 });
    expect(() => promoteCanary(incumbent, new Date())).toThrow(/there is no canary to promote/);
  });

  it('splits by query deterministically, within one point of the share over 10,000 distinct queries', () => {
    const value = withCanary(incumbent, candidate);
    const queries = Array.from({ length: 10_000 }, (_, i) => `query number ${i} about ${i % 7 ? 'cats' : 'dogs'}`);
    const variants = queries.map((q) => variantOf(value, queryBucket(q)));
    const share = variants.filter((v) => v === 'candidate').length / queries.length;
    expect(Math.abs(share - candidate.share)).toBeLessThanOrEqual(0.01);
    expect(queries.map((q) => variantOf(value, queryBucket(q)))).toEqual(variants);
    expect(variantOf(incumbent, 0)).toBe('incumbent');
  });
});
