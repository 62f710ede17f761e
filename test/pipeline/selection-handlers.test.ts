import { BedrockClient, DeleteCustomModelDeploymentCommand, ListTagsForResourceCommand } from '@aws-sdk/client-bedrock';
import { mockClient } from 'aws-sdk-client-mock';
import { deleteRunnersUp } from '../../lambda/pipeline/selection/delete-runners-up';
import { selectCandidateStep } from '../../lambda/pipeline/selection/select-candidate';

Object.assign(process.env, { GATE_CONFIDENCE: '0.95', ENV_NAME: 'dev' });

const arn = (id: string) => `arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/${id}`;
const evaluated = (name: string, o: { agreement: number; cost: number; passed?: boolean }) => ({
  candidate: { name, method: 'fine-tuning', baseModelId: 'amazon.nova-micro-v1:0:128k', promptVersion: 'student-v3' },
  training: { status: 'Completed', outputModelArn: `arn:aws:bedrock:us-east-1:123456789012:custom-model/${name}` },
  deployment: { deploymentArn: arn(name), modelArn: `m-${name}` },
  evaluation: {
    student: {
      queries: 500,
      dominantAgreement: o.agreement,
      latencyMs: { p50: 300, p95: 500, mean: 320 },
      costPer1kQueriesUsd: o.cost / 1000,
    },
  },
  evaluationStatus: {
    status: 'Completed',
    judge: { student: { mean: 4, scored: 500, histogram: [0, 25, 75, 225, 175] } },
  },
  gate: { passed: o.passed ?? true, verdict: o.passed === false ? 'rejected' : 'passed', summary: 'x' },
});
const dropped = (name: string, deployment?: string) => ({
  candidate: { name },
  failure: { step: 'Check training', error: 'TrainingJobFailed', cause: 'Bedrock: insufficient capacity' },
  ...(deployment ? { deployment: { deploymentArn: deployment } } : {}),
});

describe('Select candidate', () => {
  it('names the winner, copies its outcome for the rollout, and lists the other deployments to delete', async () => {
    const out = await selectCandidateStep({
      candidates: [
        evaluated('ft-micro', { agreement: 0.9, cost: 1.2 }),
        evaluated('distill-micro', { agreement: 0.9, cost: 2.6 }),
        dropped('late', arn('late')),
        dropped('early'),
      ],
    });
    expect(out).toMatchObject({ winner: 'ft-micro', promote: true, chosen: { candidate: { name: 'ft-micro' } } });
    expect(out.runnersUpDeployments).toEqual([arn('distill-micro'), arn('late')]);
    expect(out.dropped.map((d) => d.name)).toEqual(['late', 'early']);
  });

  it('promotes nothing when no gate passed, but chooses the best evaluated candidate for the report', async () => {
    const out = await selectCandidateStep({
      candidates: [
        evaluated('a', { agreement: 0.5, cost: 1, passed: false }),
        evaluated('b', { agreement: 0.8, cost: 2, passed: false }),
      ],
    });
    expect(out).toMatchObject({ promote: false, chosen: { candidate: { name: 'b' } } });
    expect(out.winner).toBeUndefined();
  });

  it('says no candidate is left, with every cause, and still lists the deployments to delete', async () => {
    const out = await selectCandidateStep({ candidates: [dropped('a', arn('a')), dropped('b')] });
    expect(out).toEqual({
      ranking: [],
      reason:
        'every candidate failed before its gate: a at Check training: TrainingJobFailed: Bedrock: insufficient ' +
        'capacity; b at Check training: TrainingJobFailed: Bedrock: insufficient capacity',
      promote: false,
      noCandidateLeft: true,
      dropped: [
        { name: 'a', step: 'Check training', error: 'TrainingJobFailed', cause: 'Bedrock: insufficient capacity' },
        { name: 'b', step: 'Check training', error: 'TrainingJobFailed', cause: 'Bedrock: insufficient capacity' },
      ],
      runnersUpDeployments: [arn('a')],
    });
  });

  it('refuses an input without candidates', async () => {
    await expect(selectCandidateStep({ candidates: [] })).rejects.toThrow(/candidates/);
  });
});

describe('Delete runners-up', () => {
  const bedrock = mockClient(BedrockClient);
  beforeEach(() => bedrock.reset());
  const tags = (env: string) => ({
    $metadata: {},
    tags: [
      { key: 'Project', value: 'distilled-intent-router' },
      { key: 'Environment', value: env },
    ],
  });

  it('deletes this environment’s deployments, reports those already gone, refuses the others', async () => {
    bedrock.on(ListTagsForResourceCommand, { resourceARN: arn('a') }).resolves(tags('dev'));
    bedrock.on(ListTagsForResourceCommand, { resourceARN: arn('b') }).resolves(tags('prod'));
    bedrock
      .on(ListTagsForResourceCommand, { resourceARN: arn('c') })
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    bedrock.on(DeleteCustomModelDeploymentCommand).resolves({ $metadata: {} });
    const out = await deleteRunnersUp({ deploymentArns: [arn('a'), arn('b'), arn('c')] });
    expect(out).toEqual({ deleted: [arn('a')], missing: [arn('c')], refused: [arn('b')] });
    expect(bedrock.commandCalls(DeleteCustomModelDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { customModelDeploymentIdentifier: arn('a') },
    ]);
  });

  it('lets other errors through for the state machine to retry', async () => {
    bedrock.on(ListTagsForResourceCommand).resolves(tags('dev'));
    bedrock
      .on(DeleteCustomModelDeploymentCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(deleteRunnersUp({ deploymentArns: [arn('a')] })).rejects.toThrow('slow down');
  });
});

describe('Select candidate keeps the chosen outcome whole', () => {
  it('passes every field of the chosen outcome through (the rollout reads the baseline’s judge score, too)', async () => {
    const outcome = evaluated('a', { agreement: 0.9, cost: 1 });
    const rich = {
      ...outcome,
      evaluation: { ...outcome.evaluation, baseline: { modelId: 'b' }, studentPromptVersion: 'student-v3' },
      evaluationStatus: {
        ...outcome.evaluationStatus,
        judge: { ...outcome.evaluationStatus.judge, baseline: { mean: 4, scored: 500 } },
      },
    };
    const out = await selectCandidateStep({ candidates: [rich] });
    expect(out.chosen).toEqual(rich);
  });
});
