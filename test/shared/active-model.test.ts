import { activeModelSchema, readActiveModel } from '../../lambda/shared/active-model';

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
