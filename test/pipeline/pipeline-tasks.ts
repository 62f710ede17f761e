import { SNSClient } from '@aws-sdk/client-sns';
import { handler as assembleHandler } from '../../lambda/pipeline/generation/assemble';
import { handler as calibrateHandler } from '../../lambda/pipeline/generation/calibrate';
import { handler as checkCanaryHandler } from '../../lambda/pipeline/rollout/check-canary';
import { handler as checkDeploymentHandler } from '../../lambda/pipeline/deployment/check-deployment';
import { handler as checkTrainingHandler } from '../../lambda/pipeline/training/check-training';
import { handler as checkEvaluationHandler } from '../../lambda/pipeline/evaluation/check-evaluation';
import { handler as deployStudentHandler } from '../../lambda/pipeline/deployment/deploy-student';
import { handler as evaluateHandler } from '../../lambda/pipeline/evaluation/evaluate';
import { handler as gateHandler } from '../../lambda/pipeline/gate/gate';
import { handler as generateShardHandler } from '../../lambda/pipeline/generation/generate-shard';
import { handler as planHandler } from '../../lambda/pipeline/generation/plan';
import { handler as preflightHandler } from '../../lambda/pipeline/preflight/preflight';
import { handler as promoteHandler } from '../../lambda/pipeline/rollout/promote';
import { handler as reportHandler } from '../../lambda/pipeline/report/report';
import { handler as reuseDatasetHandler } from '../../lambda/pipeline/generation/reuse-dataset';
import { handler as startCanaryHandler } from '../../lambda/pipeline/rollout/start-canary';
import { handler as startTrainingHandler } from '../../lambda/pipeline/training/start-training';
import { handler as selectCandidateHandler } from '../../lambda/pipeline/selection/select-candidate';
import { handler as deleteRunnersUpHandler } from '../../lambda/pipeline/selection/delete-runners-up';
import { C } from './states';
import { G } from './states';
import { T } from './states';
import { lambdaTask, snsPublishTask, type TaskHandler } from '../helpers/local-sfn';

/**
 * Every Task state of the synthesized pipeline, run by its real handler (the SDK mocked at the boundary by each test):
 * one map for every test that executes the whole state machine locally.
 */
export function pipelineTasks(): Record<string, TaskHandler> {
  return {
    [G.preflight]: lambdaTask(preflightHandler),
    [G.plan]: lambdaTask(planHandler),
    [G.calibrate]: lambdaTask(calibrateHandler),
    [G.generateShard]: lambdaTask(generateShardHandler),
    [G.assemble]: lambdaTask(assembleHandler),
    [T.reuseDataset]: lambdaTask(reuseDatasetHandler),
    [T.startTraining]: lambdaTask(startTrainingHandler),
    [T.checkTraining]: lambdaTask(checkTrainingHandler),
    [T.deployStudent]: lambdaTask(deployStudentHandler),
    [T.checkDeployment]: lambdaTask(checkDeploymentHandler),
    [T.evaluate]: lambdaTask(evaluateHandler),
    [T.checkEvaluation]: lambdaTask(checkEvaluationHandler),
    [T.gate]: lambdaTask(gateHandler),
    [T.selectCandidate]: lambdaTask(selectCandidateHandler),
    [T.deleteRunnersUp]: lambdaTask(deleteRunnersUpHandler),
    [T.promote]: lambdaTask(promoteHandler),
    [C.startCanary]: lambdaTask(startCanaryHandler),
    [C.checkCanary]: lambdaTask(checkCanaryHandler),
    [C.abandonCanary]: lambdaTask(checkCanaryHandler),
    [T.report]: lambdaTask(reportHandler),
    'Notify failure': snsPublishTask(new SNSClient({ region: 'us-east-1' })),
  };
}
