import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { allow, modelInvokeArns } from '../../lib/constructs/pipeline/bedrock-roles';
import { T as TRAINING_STATES } from './states';
import { nagFindings } from '../helpers/app';
import { C } from './states';
import { allStates } from '../helpers/local-sfn';
import { buildTrainingStack, renderedDefinition } from './training-fixture';

const built = buildTrainingStack();
const template = Template.fromStack(built.stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const statementsOf = (filter: (logicalId: string) => boolean): Statement[] =>
  Object.entries(resources)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && filter(id))
    .flatMap(([, r]) => (r.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const flat = (value: unknown) => JSON.stringify(value);
const roleId = (prefix: string) => Object.keys(resources).find((id) => id.startsWith(prefix)) ?? '';

describe('Bedrock service roles', () => {
  it.each([
    ['TrainingServiceRolesCustomizationRole', 'model-customization-job/*'],
    ['TrainingServiceRolesFineTuningRole', 'model-customization-job/*'],
    ['TrainingServiceRolesEvaluationRole', 'evaluation-job/*'],
  ])('%s trusts Bedrock only for jobs of this account and Region', (prefix, jobs) => {
    const role = resources[roleId(prefix)];
    const trust = role?.Properties['AssumeRolePolicyDocument'] as { Statement: Statement[] & { Principal: unknown }[] };
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toMatchObject({
      Action: 'sts:AssumeRole',
      Principal: { Service: 'bedrock.amazonaws.com' },
      Condition: {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': expect.anything() },
      },
    });
    expect(flat(trust.Statement[0]?.Condition?.['ArnLike'])).toContain(`:bedrock:us-east-1:123456789012:${jobs}`);
  });

  /** The object paths (after the bucket ARN) a role's statements grant `action` on. */
  const objectPaths = (prefix: string, action: string) =>
    statementsOf((id) => id.startsWith(prefix))
      .filter((s) => actionsOf(s).includes(action))
      .flatMap((s) => [s.Resource].flat())
      .map((r) => /"(\/runs\/[^"]*)"/.exec(flat(r))?.[1]);

  it('lets the customization role read only the training files, write only job output, invoke only the teacher', () => {
    const statements = statementsOf((id) => id.startsWith('TrainingServiceRolesCustomizationRole'));
    const on = (action: string) => statements.filter((s) => actionsOf(s).includes(action)).map((s) => flat(s.Resource));
    // One training file per prompt version, never the held-out sets or the manifest.
    expect(objectPaths('TrainingServiceRolesCustomizationRole', 's3:GetObject')).toEqual([
      '/runs/*/dataset/train*.jsonl',
    ]);
    expect(objectPaths('TrainingServiceRolesCustomizationRole', 's3:PutObject')).toEqual([
      '/runs/*/distillation/*',
      '/runs/*/training/*',
    ]);
    const invoke = on('bedrock:InvokeModel').join();
    expect(invoke).toContain('inference-profile/us.amazon.nova-pro-v1:0');
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      expect(invoke).toContain(`:bedrock:${region}::foundation-model/amazon.nova-pro-v1:0`);
    }
    expect(invoke).not.toContain('llama');
  });

  it('lets the fine-tuning role read only the training files and write only a candidate’s job output, invoking nothing', () => {
    expect(objectPaths('TrainingServiceRolesFineTuningRole', 's3:GetObject')).toEqual(['/runs/*/dataset/train*.jsonl']);
    expect(objectPaths('TrainingServiceRolesFineTuningRole', 's3:PutObject')).toEqual(['/runs/*/training/*']);
    const actions = statementsOf((id) => id.startsWith('TrainingServiceRolesFineTuningRole')).flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('bedrock:'))).toEqual([]);
    expect([...new Set(actions)].sort()).toEqual([
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GenerateDataKey',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
  });

  it('lets the evaluation role read only its datasets, write only evaluation output, invoke only the judge', () => {
    const statements = statementsOf((id) => id.startsWith('TrainingServiceRolesEvaluationRole'));
    const on = (action: string) => statements.filter((s) => actionsOf(s).includes(action)).map((s) => flat(s.Resource));
    expect(on('s3:PutObject')).toEqual([expect.stringContaining('/runs/*/evaluation/output/*')]);
    expect(on('s3:GetObject').join()).not.toContain('/dataset/');
    const invoke = on('bedrock:InvokeModel').join();
    expect(invoke).toContain('inference-profile/us.meta.llama3-3-70b-instruct-v1:0');
    expect(invoke).not.toContain('nova-premier');
  });

  it.each([
    'TrainingServiceRolesCustomizationRole',
    'TrainingServiceRolesFineTuningRole',
    'TrainingServiceRolesEvaluationRole',
  ])('%s may list under runs/ (a prefix with or without its trailing slash), never the whole bucket', (prefix) => {
    const listing = statementsOf((id) => id.startsWith(prefix)).filter((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(listing.map((s) => s.Condition)).toEqual([{ StringLike: { 's3:prefix': ['runs/*'] } }]);
  });

  it('uses the dataset key only through S3 and Bedrock', () => {
    const kms = statementsOf((id) => id.startsWith('TrainingServiceRoles')).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('kms:')),
    );
    expect(kms.length).toBeGreaterThan(0);
    for (const s of kms)
      expect(flat(s.Condition?.['StringEquals']?.['kms:ViaService'])).toMatch(/(bedrock|s3)\.us-east-1/);
  });
});

describe('the training functions', () => {
  const all = statementsOf(() => true);

  it('grants no wildcard action anywhere in the fragment', () => {
    const training = statementsOf((id) => id.startsWith('Training'));
    expect(training.length).toBeGreaterThan(20);
    for (const s of training) for (const a of actionsOf(s)) expect(a).not.toContain('*');
  });

  it('passes only the service roles, only to Bedrock', () => {
    const passRole = all.filter((s) => actionsOf(s).includes('iam:PassRole'));
    const passed = passRole.map((s) => flat(s.Resource));
    const arn = (prefix: string) => flat({ 'Fn::GetAtt': [roleId(prefix), 'Arn'] });
    expect(passed).toEqual(
      expect.arrayContaining([arn('TrainingServiceRolesCustomizationRole'), arn('TrainingServiceRolesEvaluationRole')]),
    );
    // The fine-tuning role too, once the state machine hands it to the training stage.
    const serviceRoles = ['Customization', 'FineTuning', 'Evaluation'].map((r) => arn(`TrainingServiceRoles${r}Role`));
    for (const resource of passed) expect(serviceRoles).toContain(resource);
    for (const s of passRole)
      expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'bedrock.amazonaws.com' } });
  });

  it('invokes only the deployment and the baseline while evaluating', () => {
    const invoke = statementsOf((id) => id.startsWith('TrainingFunctionsEvaluate')).filter((s) =>
      actionsOf(s).includes('bedrock:InvokeModel'),
    );
    const text = flat(invoke.map((s) => s.Resource));
    expect(text).toContain('custom-model-deployment/*');
    expect(text).toContain('inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(text).not.toContain('nova-premier');
  });

  it('lists the bucket only under runs/, for every function and role of the fragment', () => {
    const listing = all.filter((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(listing.length).toBeGreaterThanOrEqual(5);
    for (const s of listing) expect(flat(s.Condition?.['StringLike']?.['s3:prefix'])).toMatch(/^\["runs\/\*/);
  });

  const policyOf = (fn: string) => statementsOf((id) => id.startsWith(`TrainingFunctions${fn}`));
  const resourcesFor = (fn: string, action: string) =>
    policyOf(fn)
      .filter((s) => actionsOf(s).includes(action))
      .flatMap((s) => [s.Resource].flat())
      .map(flat);

  it('lets Evaluate write only its answers, judge datasets, metrics and the run’s reference answers', () => {
    const evaluationKey = (r: string) => /\/runs\/\*\/evaluation\/[^"]*/.exec(r)?.[0];
    const writes = resourcesFor('Evaluate', 's3:PutObject');
    expect(writes).toHaveLength(4);
    expect(writes.map(evaluationKey).sort()).toEqual([
      '/runs/*/evaluation/answers/*',
      '/runs/*/evaluation/datasets/*',
      '/runs/*/evaluation/metrics.json',
      '/runs/*/evaluation/reference/*',
    ]);
    // The reference answers another candidate stored are read back; never the judge jobs' output.
    const reads = resourcesFor('Evaluate', 's3:GetObject');
    expect(reads.map(evaluationKey)).toContain('/runs/*/evaluation/reference/*');
    expect(reads.join()).not.toContain('/evaluation/output');
    expect(resourcesFor('Evaluate', 's3:PutObjectTagging').map(evaluationKey).sort()).toEqual([
      '/runs/*/evaluation/answers/*',
      '/runs/*/evaluation/datasets/*',
      '/runs/*/evaluation/reference/*',
    ]);
  });

  it('lets the launcher create customization jobs only on the configured base model and the teacher', () => {
    const create = resourcesFor('StartDistillation', 'bedrock:CreateModelCustomizationJob');
    const models = create.filter((r) => r.includes('foundation-model') || r.includes('inference-profile'));
    const name = (r: string) => /(foundation-model|inference-profile)\/([^"]+)/.exec(r)?.slice(1).join('/');
    expect(models.map(name).sort()).toEqual(
      [
        'foundation-model/amazon.nova-micro-v1:0:128k', // the student's base model, this Region
        'inference-profile/us.amazon.nova-pro-v1:0', // the teacher and its destinations
        'foundation-model/amazon.nova-pro-v1:0',
        'foundation-model/amazon.nova-pro-v1:0',
        'foundation-model/amazon.nova-pro-v1:0',
      ].sort(),
    );
    expect(create.filter((r) => !models.includes(r)).map((r) => /:bedrock:[^"]*/.exec(r)?.[0])).toEqual([
      expect.stringMatching(/:model-customization-job\/\*$/),
      expect.stringMatching(/:custom-model\/\*$/),
    ]);
  });

  it('acts on the job or the deployment only where the calls do: no Get or Tag on custom models they do not need', () => {
    expect(resourcesFor('StartDistillation', 'bedrock:GetModelCustomizationJob')).toEqual([
      expect.stringContaining(':model-customization-job/*'),
    ]);
    expect(resourcesFor('DeployStudent', 'bedrock:TagResource')).toEqual([
      expect.stringContaining(':custom-model-deployment/*'),
    ]);
    expect(resourcesFor('DeployStudent', 'bedrock:ListTagsForResource')).toEqual([
      expect.stringContaining(':custom-model-deployment/*'),
    ]);
    // The student is invoked through its deployment, as the router does, never as a custom model.
    expect(resourcesFor('Evaluate', 'bedrock:InvokeModel').join()).not.toContain(':custom-model/');
  });

  it('lets only Check evaluation stop judge jobs, and only evaluation jobs', () => {
    const stopping = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .filter(([, r]) =>
        (r.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement.some((s) =>
          actionsOf(s).includes('bedrock:StopEvaluationJob'),
        ),
      )
      .map(([id]) => id);
    expect(stopping).toEqual([expect.stringMatching(/^TrainingFunctionsCheckEvaluation/)]);
    expect(resourcesFor('CheckEvaluation', 'bedrock:StopEvaluationJob')).toEqual([
      expect.stringContaining(':evaluation-job/*'),
    ]);
  });

  it('writes only the one active-model parameter (Promote, Start canary, Check canary, Abandon canary)', () => {
    const ssm = all.filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
    expect(ssm).toHaveLength(4);
    for (const statement of ssm) {
      expect(actionsOf(statement).sort()).toEqual(['ssm:GetParameter', 'ssm:PutParameter']);
      expect(flat(statement.Resource)).toContain(':parameter/intent-router/dev/active-model');
      expect(flat(statement.Resource)).not.toContain('*');
    }
  });

  it('configures the functions from config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Applies the quality thresholds'),
      Environment: {
        Variables: Match.objectLike({
          MIN_JUDGE_SCORE: '4',
          MAX_JUDGE_GAP_TO_BASELINE: '0.25',
          MIN_VALID_REPLY_RATE: '0.98',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Answers the held-out set'),
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          EVALUATION_CONCURRENCY: '8',
          JUDGE_MODEL_ID: 'us.meta.llama3-3-70b-instruct-v1:0',
        }),
      },
    });
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(nagFindings(built.stack)).toEqual([]);
  });
});

describe('the state machine fragment', () => {
  const states = allStates(renderedDefinition(template));
  const S = TRAINING_STATES;

  it('polls each long step in a Wait → Check → Choice loop with the configured waits', () => {
    expect(states[S.waitTraining]).toMatchObject({ Type: 'Wait', Seconds: 300, Next: S.checkTraining });
    expect(states[S.waitDeployment]).toMatchObject({ Type: 'Wait', Seconds: 60, Next: S.checkDeployment });
    expect(states[S.waitEvaluation]).toMatchObject({ Type: 'Wait', Seconds: 300, Next: S.checkEvaluation });
    expect(states[S.trainingChoice]).toMatchObject({
      Default: S.waitTraining,
      Choices: [
        { Variable: '$.trainingStatus.status', StringEquals: 'Completed', Next: S.deployStudent },
        { Or: [{ StringEquals: 'Failed' }, { StringEquals: 'Stopped' }], Next: S.trainingFailed },
      ],
    });
    expect(states[S.deploymentChoice]).toMatchObject({ Default: S.waitDeployment });
    expect(states[S.evaluationChoice]).toMatchObject({ Default: S.waitEvaluation });
  });

  it('catches every Task into the failure path and retries Bedrock throttling', () => {
    const tasks = Object.entries(states).filter(([name, s]) => s['Type'] === 'Task' && name !== 'Notify failure');
    expect(tasks.map(([n]) => n).sort()).toEqual(
      [
        S.startTraining,
        S.checkTraining,
        S.deployStudent,
        S.checkDeployment,
        S.evaluate,
        S.checkEvaluation,
        S.gate,
        S.selectCandidate,
        S.deleteRunnersUp,
        S.promote,
        S.report,
        S.reuseDataset,
        C.startCanary,
        C.checkCanary,
        C.abandonCanary,
      ].sort(),
    );
    // Check canary is caught into Abandon canary (which rolls the candidate back) before the failure path.
    expect(states[C.checkCanary]?.['Catch']).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: C.abandonCanary },
    ]);
    expect(states[C.abandonCanary]).toMatchObject({
      Parameters: expect.objectContaining({ 'abandon.$': '$.caught' }),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.abandonFailure', Next: C.abandonFailed }],
      Next: C.canaryAbandoned,
    });
    for (const [name, task] of tasks.filter(([n]) => n !== C.checkCanary && n !== C.abandonCanary)) {
      expect({ name, catch: task['Catch'] }).toEqual({
        name,
        catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: `${name} failed` }],
      });
      // Select candidate calls no AWS service: only Lambda's own faults are retried.
      if (name !== S.selectCandidate) expect(flat(task['Retry'])).toContain('ThrottlingException');
      else expect(flat(task['Retry'])).not.toContain('ThrottlingException');
    }
  });

  it('gives the Evaluate task longer than its function, so Step Functions never abandons a running invocation', () => {
    const fn = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        String(r.Properties['Description']).startsWith('Answers the held-out set'),
    );
    const functionTimeout = Number(fn?.Properties['Timeout']);
    expect(functionTimeout).toBe(900);
    expect(Number(states[S.evaluate]?.['TimeoutSeconds'])).toBeGreaterThan(functionTimeout);
  });

  it('drops a candidate whose job failed, with its failure message as the cause (the others go on)', () => {
    expect(states[S.trainingFailed]).toMatchObject({
      Type: 'Pass',
      Parameters: {
        step: 'Training',
        error: 'TrainingJobFailed',
        'cause.$': '$.trainingStatus.failureMessage',
      },
      ResultPath: '$.failure',
      Next: 'Candidate deployed?',
    });
    expect(states['Candidate deployed?']).toMatchObject({
      Choices: [{ Variable: '$.deployment.deploymentArn', IsPresent: true, Next: 'Drop the deployed candidate' }],
      Default: 'Drop the candidate',
    });
    expect(states['Drop the candidate']).toMatchObject({
      Parameters: { 'candidate.$': '$.candidate', 'failure.$': '$.failure' },
      End: true,
    });
    expect(states[S.deploymentFailed]).toMatchObject({
      Parameters: { 'cause.$': '$.deploymentStatus.failureMessage' },
    });
  });

  it('runs each candidate in the Candidates map, a few at a time, and ends each with its outcome', () => {
    expect(states[S.candidates]).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.preflight.candidates',
      MaxConcurrency: 2,
      ItemSelector: { 'candidate.$': '$$.Map.Item.Value', 'assemble.$': '$.assemble', 'preflight.$': '$.preflight' },
      ResultPath: '$.candidates',
      Next: S.selectCandidate,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: `${S.candidates} failed` }],
    });
    const processor = renderedDefinition(template).States[S.candidates]?.['ItemProcessor'] as { StartAt: string };
    expect(processor.StartAt).toBe(S.reuseModelChoice);
    expect(states[S.gate]).toMatchObject({ Next: S.outcome });
    expect(states[S.outcome]).toMatchObject({ Type: 'Pass', End: true });
    expect(states[S.selectCandidate]).toMatchObject({
      Parameters: { 'candidates.$': '$.candidates' },
      ResultPath: '$.selection',
      Next: S.deleteRunnersUp,
    });
    expect(states[S.deleteRunnersUp]).toMatchObject({
      Parameters: { 'deploymentArns.$': '$.selection.runnersUpDeployments' },
      Next: S.gateChoice,
    });
  });

  it('canaries (or promotes) only the selected candidate, when one passed, and reports either way', () => {
    expect(states[S.gateChoice]).toMatchObject({
      Choices: [
        { Variable: '$.selection.noCandidateLeft', BooleanEquals: true, Next: S.noCandidateLeft },
        { Variable: '$.selection.promote', BooleanEquals: true, Next: C.startCanary },
      ],
      Default: S.skipPromotion,
    });
    expect(states[C.startCanary]).toMatchObject({
      Parameters: expect.objectContaining({ 'deploymentArn.$': '$.selection.chosen.deployment.deploymentArn' }),
    });
    expect(states[S.promote]).toMatchObject({ Next: S.report });
    expect(states[S.skipPromotion]).toMatchObject({ Next: S.report, ResultPath: '$.promotion' });
    expect(states[S.report]).toMatchObject({ End: true, ResultPath: '$.report' });
  });

  it('skips the training when the candidate is a given model to reuse', () => {
    expect(states[S.reuseModelChoice]).toMatchObject({
      Choices: [{ Variable: '$.candidate.reusedModelArn', IsPresent: true, Next: S.useGivenModel }],
      Default: S.startTraining,
    });
    expect(states[S.useGivenModel]).toMatchObject({
      Parameters: { 'outputModelArn.$': '$.candidate.reusedModelArn' },
      Next: S.deployStudent,
      ResultPath: '$.trainingStatus',
    });
  });
});

describe('policy helpers', () => {
  const scope = () => {
    const stack = new Stack(new App(), 'Helpers', { env: { region: 'us-east-1', account: '123456789012' } });
    return {
      stack,
      role: new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }),
    };
  };

  it('refuses wildcard actions and unexplained wildcard resources', () => {
    const { role } = scope();
    expect(() => allow(role, role, { actions: ['s3:Get*'], resources: ['arn:aws:s3:::b/k'] })).toThrow(
      /wildcard action/,
    );
    expect(() => allow(role, role, { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })).toThrow(
      /needs a wildcardReason/,
    );
  });

  it('acknowledges exactly the wildcard resource it was given a reason for', () => {
    const { stack, role } = scope();
    allow(role, role, { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/runs/*'], wildcardReason: 'why' });
    expect(nagFindings(stack)).toEqual([]);
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/other/*'] }));
    expect(nagFindings(stack).join()).toContain('AwsSolutions-IAM5[Resource::arn:aws:s3:::b/other/*]');
  });

  it('covers a plain model id with its foundation model in the stack’s Region', () => {
    const { stack } = scope();
    expect(modelInvokeArns(stack, 'amazon.nova-micro-v1:0:128k').map((a) => stack.resolve(a))).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k'],
        ],
      },
    ]);
  });
});

describe('each candidate inside the Candidates map', () => {
  const states = allStates(renderedDefinition(template));
  const S = TRAINING_STATES;
  const { stack } = built;
  const { roles } = built.later;

  it('trains `$.candidate` on the Assemble result and writes $.training / $.trainingStatus', () => {
    expect(states[S.startTraining]).toMatchObject({
      Parameters: { 'runId.$': '$$.Execution.Name', 'assemble.$': '$.assemble', 'candidate.$': '$.candidate' },
      ResultPath: '$.training',
    });
    expect(states[S.checkTraining]).toMatchObject({
      Parameters: { 'jobArn.$': '$.training.jobArn' },
      ResultPath: '$.trainingStatus',
    });
  });

  it('deploys and evaluates under the candidate’s name', () => {
    expect(states[S.deployStudent]).toMatchObject({
      Parameters: {
        'runId.$': '$$.Execution.Name',
        'modelArn.$': '$.trainingStatus.outputModelArn',
        'candidate.$': '$.candidate.name',
      },
    });
    expect(states[S.evaluate]).toMatchObject({ Parameters: expect.objectContaining({ 'candidate.$': '$.candidate' }) });
    expect(states[S.checkEvaluation]).toMatchObject({
      Parameters: expect.objectContaining({ 'candidate.$': '$.candidate.name' }),
    });
  });

  it('passes the fine-tuning role (no model invocation) and the distillation role, only to Bedrock', () => {
    const roleArn = (role: iam.IRole) => ({
      'Fn::GetAtt': [stack.getLogicalId(role.node.defaultChild as CfnElement), 'Arn'],
    });
    const starter = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'iam:PassRole' })]) } },
    });
    const passed = Object.values(starter).flatMap((p) =>
      (p['Properties'] as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement.filter((s) =>
        actionsOf(s).includes('iam:PassRole'),
      ).map((s) => s.Resource),
    );
    expect(passed).toEqual(expect.arrayContaining([roleArn(roles.customizationRole), roleArn(roles.fineTuningRole)]));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Starts a candidate’s customization job'),
      Environment: { Variables: Match.objectLike({ FINE_TUNING_ROLE_ARN: roleArn(roles.fineTuningRole) }) },
    });
  });
});

describe('the canary after the gate (canaryShare > 0)', () => {
  const { States: states } = renderedDefinition(template);
  const canaryStatements = (prefix: string) => statementsOf((id) => id.startsWith(prefix));

  it('starts the canary, waits canaryCheckMinutes between checks and records the end as $.promotion', () => {
    expect(states[C.startCanary]).toMatchObject({ Type: 'Task', ResultPath: '$.canary', Next: C.startedChoice });
    expect(states[C.startedChoice]).toMatchObject({
      Choices: [{ Variable: '$.canary.started', BooleanEquals: true, Next: C.waitCanary }],
      Default: TRAINING_STATES.promote,
    });
    expect(states[C.waitCanary]).toMatchObject({ Type: 'Wait', Seconds: 300, Next: C.checkCanary });
    expect(states[C.checkCanary]).toMatchObject({ ResultPath: '$.canaryCheck', Next: C.doneChoice });
    expect(states[C.doneChoice]).toMatchObject({
      Choices: [{ Variable: '$.canaryCheck.done', BooleanEquals: true, Next: C.canaryEnded }],
      Default: C.waitCanary,
    });
    expect(states[C.canaryEnded]).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.promotion',
      Parameters: { 'promoted.$': '$.canaryCheck.promoted', 'canary.$': '$.canaryCheck' },
      Next: TRAINING_STATES.report,
    });
  });

  it('retries CloudWatch and SSM throttling by name with backoff', () => {
    for (const name of [C.startCanary, C.checkCanary]) {
      const retry = states[name]?.['Retry'] as { ErrorEquals: string[]; BackoffRate: number; JitterStrategy: string }[];
      expect(retry).toContainEqual(
        expect.objectContaining({
          ErrorEquals: [
            'Throttling',
            'InternalServiceFault',
            'ThrottlingException',
            'TooManyUpdates',
            'InternalServerError',
          ],
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        }),
      );
    }
  });

  it('reads only the four canary alarms, by ARN, and configures the functions from config', () => {
    for (const prefix of ['TrainingFunctionsStartCanary', 'TrainingFunctionsCheckCanary']) {
      const describe = canaryStatements(prefix).filter((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'));
      expect(describe).toHaveLength(1);
      const arns = flat(describe[0]?.Resource);
      for (const check of ['InvalidReplies', 'Fallbacks', 'LatencyP99', 'ShadowAgreement']) {
        expect(arns).toContain(`:alarm:IntentRouter-dev-Canary-${check}`);
      }
      expect(arns).not.toContain('*');
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Puts the gated candidate'),
      Environment: {
        Variables: Match.objectLike({ CANARY_SHARE: '0.1', API_STACK_NAME: 'IntentRouter-dev-Api' }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Reads the canary alarms'),
      Environment: {
        Variables: Match.objectLike({
          CANARY_MINUTES: '60',
          CANARY_ALARM_NAMES: Match.stringLikeRegexp('^IntentRouter-dev-Canary-InvalidReplies,'),
        }),
      },
    });
  });

  it('canaryShare=0 keeps today’s behaviour: the gate goes straight to Promote, no canary state or function', () => {
    const plain = buildTrainingStack({ canaryShare: 0 });
    const plainTemplate = Template.fromStack(plain.stack);
    const plainStates = allStates(renderedDefinition(plainTemplate));
    expect(plainStates[TRAINING_STATES.gateChoice]).toMatchObject({
      Choices: [
        { Variable: '$.selection.noCandidateLeft', BooleanEquals: true, Next: TRAINING_STATES.noCandidateLeft },
        { Variable: '$.selection.promote', BooleanEquals: true, Next: TRAINING_STATES.promote },
      ],
    });
    expect(Object.keys(plainStates).filter((n) => Object.values(C).includes(n as never))).toEqual([]);
    plainTemplate.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Description: Match.stringLikeRegexp('canary') },
      0,
    );
    expect(nagFindings(plain.stack)).toEqual([]);
  });
});
