import { readActiveModel } from '../../lambda/shared/active-model';

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
});
