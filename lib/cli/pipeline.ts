import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { OUTPUTS, pipelineStackName } from '../naming';
import { OperatorError } from './errors';

/**
 * The run CLI (`npm run pipeline -- start|watch|list`): starts a pipeline execution found through the Pipeline stack's
 * outputs (start-command.ts), follows it stage by stage with the generation Map's progress and the current job status
 * (watch-command.ts, run-view.ts), and prints the run report at the end; lists the runs (list-command.ts). Every AWS
 * call is a typed SDK v3 command on clients passed in, so tests mock them. This module: what they share.
 */

export class PipelineCliError extends OperatorError {
  override readonly name = 'PipelineCliError';
}

export interface PipelineCliDeps {
  readonly cfn: CloudFormationClient;
  readonly sfn: SFNClient;
  readonly s3: S3Client;
  /** The active-model parameter (status, promote, rollback). */
  readonly ssm: SSMClient;
  /** Writes one line of output. */
  readonly out: (line: string) => void;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PipelineOutputs {
  readonly stackName: string;
  readonly stateMachineArn: string;
  readonly datasetBucketName: string;
}

/** The outputs of a stack, or undefined when no stack of that name exists (in the client's Region). */
export async function stackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string> | undefined> {
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    // CloudFormation reports a missing stack as a ValidationError "Stack with id … does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      return undefined;
    }
    throw error;
  }
}

/** The state machine and the dataset bucket of an environment, from its Pipeline stack's outputs. */
export async function pipelineOutputs(cfn: CloudFormationClient, envName: string): Promise<PipelineOutputs> {
  const stackName = pipelineStackName(envName);
  const outputs = await stackOutputs(cfn, stackName);
  if (!outputs) {
    const region = await cfn.config.region().catch(() => 'the configured region');
    throw new PipelineCliError(
      `stack "${stackName}" does not exist in ${region}: deploy it first (npx cdk deploy --all -c envName=${envName}), ` +
        'or pass the right --env / --region (or AWS_REGION)',
    );
  }
  const stateMachineArn = outputs[OUTPUTS.stateMachineArn];
  const datasetBucketName = outputs[OUTPUTS.datasetBucketName];
  const missing = [
    ...(stateMachineArn ? [] : [OUTPUTS.stateMachineArn]),
    ...(datasetBucketName ? [] : [OUTPUTS.datasetBucketName]),
  ];
  if (!stateMachineArn || !datasetBucketName) {
    throw new PipelineCliError(
      `stack "${stackName}" has no output ${missing.join(' or ')}: it was deployed from an older version of this ` +
        `app; redeploy it (npx cdk deploy --all -c envName=${envName})`,
    );
  }
  return { stackName, stateMachineArn, datasetBucketName };
}

/** The execution ARN of run `runId` (the execution's name is the run id). */
export function executionArnOf(stateMachineArn: string, runId: string): string {
  const match = /^(arn:[^:]+:states:[^:]+:\d+):stateMachine:(.+)$/.exec(stateMachineArn);
  if (!match) throw new PipelineCliError(`"${stateMachineArn}" is not a state machine ARN`);
  return `${match[1]}:execution:${match[2]}:${runId}`;
}
