import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { ExecutionError, StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

/**
 * Runs a synthesized state machine locally: takes the definition from the stack's template, resolves the
 * CloudFormation intrinsics in it (Fn::Join, Ref, Fn::GetAtt…) to plausible ARNs, validates it with asl-validator,
 * and executes it with aws-local-stepfunctions, Task states overridden by name with local functions (the real
 * handlers, with AWS mocked at the SDK boundary). Retry pauses and waits can be skipped so a run takes seconds.
 */

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

type CfnResources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'LocalStack',
  'AWS::NoValue': '',
};

/** What `Ref` / `Fn::GetAtt … Arn` of a resource resolves to in the local definition. */
function resourceValue(logicalId: string, resources: CfnResources, attribute?: string): string {
  const type = resources[logicalId]?.Type;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
  switch (type) {
    case 'AWS::Lambda::Function':
      return attribute === undefined || attribute === 'Arn' ? arn('lambda', `function:${logicalId}`) : logicalId;
    case 'AWS::SNS::Topic':
      return arn('sns', logicalId);
    case 'AWS::StepFunctions::StateMachine':
      return arn('states', `stateMachine:${logicalId}`);
    case 'AWS::S3::Bucket':
      return attribute === 'Arn' ? `arn:aws:s3:::${logicalId.toLowerCase()}` : logicalId.toLowerCase();
    case 'AWS::KMS::Key':
      return attribute === 'Arn' ? arn('kms', `key/${logicalId}`) : logicalId;
    case 'AWS::IAM::Role':
      return attribute === 'Arn' ? `arn:aws:iam::${LOCAL_ACCOUNT}:role/${logicalId}` : logicalId;
    default:
      return logicalId;
  }
}

/** Resolves the intrinsic functions CDK puts in definitions; anything else is refused loudly. */
export function resolveIntrinsics(value: unknown, resources: CfnResources): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  const only = keys.length === 1 ? keys[0] : undefined;
  const text = (v: unknown) => String(resolveIntrinsics(v, resources));
  switch (only) {
    case 'Ref': {
      const name = String(object['Ref']);
      return PSEUDO[name] ?? resourceValue(name, resources);
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
      return resourceValue(logicalId, resources, attribute);
    }
    case 'Fn::Join': {
      const [delimiter, items] = object['Fn::Join'] as [string, unknown[]];
      return items.map(text).join(delimiter);
    }
    case 'Fn::Select': {
      const [index, list] = object['Fn::Select'] as [number, unknown];
      return (resolveIntrinsics(list, resources) as unknown[])[Number(index)];
    }
    case 'Fn::Split': {
      const [delimiter, source] = object['Fn::Split'] as [string, unknown];
      return text(source).split(delimiter);
    }
    case 'Fn::Sub': {
      const template = object['Fn::Sub'];
      if (typeof template !== 'string') throw new Error('Fn::Sub with variables is not supported by the local runner');
      return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split('.');
        return PSEUDO[name] ?? resourceValue(id ?? name, resources, attribute);
      });
    }
    default:
      if (only?.startsWith('Fn::')) throw new Error(`${only} is not supported by the local runner`);
      return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(object[k], resources)]));
  }
}

/** The definition of the stack's (only, or `logicalId`) state machine, intrinsics resolved. */
export function stateMachineDefinition(stack: Stack | Template, logicalId?: string): StateMachineDefinition {
  const template = (stack instanceof Template ? stack : Template.fromStack(stack)).toJSON() as {
    Resources: CfnResources;
  };
  const machines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  const found = logicalId ? machines.find(([id]) => id === logicalId) : machines[0];
  if (!found || (!logicalId && machines.length !== 1)) {
    throw new Error(`expected one state machine${logicalId ? ` named ${logicalId}` : ''}, found ${machines.length}`);
  }
  const definitionString = resolveIntrinsics(found[1].Properties?.['DefinitionString'], template.Resources);
  if (typeof definitionString !== 'string') throw new Error('the state machine has no DefinitionString');
  return JSON.parse(definitionString) as StateMachineDefinition;
}

/** asl-validator's verdict on the definition (ARNs and paths checked). */
export function validateDefinition(definition: StateMachineDefinition): { isValid: boolean; errors: string } {
  const result = aslValidator(definition, { checkArn: true, checkPaths: true });
  return { isValid: result.isValid, errors: result.errorsText('\n') };
}

type StateJson = { Type?: string; Retry?: unknown[]; States?: Record<string, StateJson> } & Record<string, unknown>;

/** Every state of the definition by name, nested ones (Map item processors, Parallel branches) included. */
export function allStates(definition: { States: Record<string, unknown> }): Record<string, StateJson> {
  const out: Record<string, StateJson> = {};
  const visit = (states: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(states)) {
      const state = value as StateJson;
      out[name] = state;
      for (const nested of [state['ItemProcessor'], state['Iterator'], ...((state['Branches'] as unknown[]) ?? [])]) {
        const inner = (nested as { States?: Record<string, unknown> } | undefined)?.States;
        if (inner) visit(inner);
      }
    }
  };
  visit(definition.States);
  return out;
}

/** A local Task handler: gets the state's resolved Parameters (or input) and returns the task's result. */
export type TaskHandler = (input: never) => unknown;

/**
 * Wraps a Lambda handler so that it is called and its result and errors reach the state machine the way Lambda does
 * it: with a Lambda context (a new request id per invocation); the result as JSON (dates become strings, undefined
 * fields vanish); the error name as `Error`, and as `Cause` the JSON document Lambda produces
 * (`{"errorType","errorMessage"}`).
 */
export function lambdaTask<I, O>(handler: (event: I, context: Context) => Promise<O>): (input: I) => Promise<O> {
  return async (input) => {
    try {
      const result = await handler(input, lambdaContext());
      return (result === undefined ? result : JSON.parse(JSON.stringify(result))) as O;
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const lambdaError = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message }));
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
}

export interface LocalRunOptions {
  /** The execution's name (`$$.Execution.Name`): the run id. */
  readonly executionName: string;
  /**
   * `$$.Execution.StartTime` as the tasks see it (default: now). A redrive keeps the execution's start time, so a test
   * that redrives passes the first run's; a new execution under a reused name gets a new one. aws-local-stepfunctions
   * always sets the context's StartTime to the moment it starts, so the time is put into the `startTime` field of a
   * task's input or Lambda payload (the one place the definition passes it on: Preflight's input).
   */
  readonly startTime?: string;
  readonly input?: Parameters<StateMachine['run']>[0];
  /** Task overrides by state name; a Task without one would call AWS, so every Task reached must have one. */
  readonly tasks: Record<string, TaskHandler>;
  /** Wait states by name → milliseconds (default: every Wait state takes 0 ms). */
  readonly waits?: Record<string, number>;
  /** Pause between retries in ms (default 0 for every state with a Retry field). */
  readonly retryPauseMs?: number;
}

function withStartTime(input: unknown, startTime: string | undefined): unknown {
  if (startTime === undefined || typeof input !== 'object' || input === null) return input;
  if ('startTime' in input) return { ...input, startTime };
  if (!('Payload' in input)) return input;
  const payload = input.Payload;
  if (typeof payload !== 'object' || payload === null || !('startTime' in payload)) return input;
  return { ...input, Payload: { ...payload, startTime } };
}

export interface LocalRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Record<string, unknown>;
  readonly error?: string;
  readonly cause?: string;
  /** State names in the order they were entered (Map iterations included). */
  readonly entered: readonly string[];
  /**
   * The states entered in each iteration of a Map, by the Map's name and the item's index: `iterations.Candidates[1]`
   * is the second candidate's path. Sequential top-level Maps only (a nested Map's states are not told apart).
   */
  readonly iterations: Readonly<Record<string, readonly (readonly string[])[]>>;
}

/** Validates and executes the definition locally. */
export async function runLocally(
  definition: StateMachineDefinition,
  options: LocalRunOptions,
): Promise<LocalRunResult> {
  const validation = validateDefinition(definition);
  if (!validation.isValid) throw new Error(`the definition is not valid ASL:\n${validation.errors}`);
  const states = allStates(definition);
  const missing = Object.entries(states)
    .filter(([name, s]) => s.Type === 'Task' && !(name in options.tasks))
    .map(([name]) => name);
  const overrides: RunOptions['overrides'] = {
    taskResourceLocalHandlers: Object.fromEntries(
      Object.entries(states)
        .filter(([, s]) => s.Type === 'Task')
        .map(([name]) => [
          name,
          async (input: unknown) => {
            const handler = options.tasks[name];
            if (!handler)
              throw new Error(`Task "${name}" has no local handler (tasks without one: ${missing.join(', ')})`);
            return (await (handler as (input: unknown) => unknown)(withStartTime(input, options.startTime))) as never;
          },
        ]),
    ),
    waitTimeOverrides: Object.fromEntries(
      Object.entries(states)
        .filter(([, s]) => s.Type === 'Wait')
        .map(([name]) => [name, options.waits?.[name] ?? 0]),
    ),
    retryIntervalOverrides: Object.fromEntries(
      Object.entries(states)
        .filter(([, s]) => Array.isArray(s.Retry))
        .map(([name, s]) => [name, (s.Retry ?? []).map(() => options.retryPauseMs ?? 0)]),
    ),
  };
  const input = options.input ?? {};
  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const execution = machine.run(input, {
    overrides,
    context: {
      Execution: {
        Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:local:${options.executionName}`,
        Name: options.executionName,
        Input: input,
        StartTime: options.startTime ?? new Date().toISOString(),
      },
    },
  });
  const entered: string[] = [];
  const iterations: Record<string, string[][]> = {};
  let currentMap: string[][] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'MapIterationStarted') currentMap = iterations[event.parentState.name] ??= [];
      if (event.type !== 'StateEntered') continue;
      entered.push(event.state.name);
      if (event.index !== undefined) (currentMap[event.index] ??= []).push(event.state.name);
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await collect;
    return { status: 'SUCCEEDED', output, entered, iterations };
  } catch (error) {
    await collect;
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause instanceof Error ? error.cause : undefined;
    return {
      status: 'FAILED',
      error: cause?.name ?? 'unknown',
      cause: cause?.message ?? String(error.cause),
      entered,
      iterations,
    };
  }
}

/**
 * The environment variables of every Lambda function in the template (intrinsics resolved), merged: what the real
 * handlers read when the local run calls them. Throws when two functions set one variable to different values.
 */
export function lambdaEnvironment(stack: Stack | Template): Record<string, string> {
  const template = (stack instanceof Template ? stack : Template.fromStack(stack)).toJSON() as {
    Resources: CfnResources;
  };
  const merged: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const variables = (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    for (const [name, value] of Object.entries(variables ?? {})) {
      const resolved = String(resolveIntrinsics(value, template.Resources));
      if (name in merged && merged[name] !== resolved && !name.startsWith('POWERTOOLS_')) {
        throw new Error(`functions disagree on ${name} (${id}: ${resolved}, before: ${merged[name]})`);
      }
      merged[name] = resolved;
    }
  }
  return merged;
}

/**
 * The SNS Publish service integration (`arn:aws:states:::sns:publish`) as a local Task: sends the same request
 * through the SDK (mock it with aws-sdk-client-mock), a non-string Message JSON-encoded as Step Functions does.
 */
export function snsPublishTask(client: SNSClient): TaskHandler {
  return async (parameters: { TopicArn: string; Subject?: string; Message: unknown }) => {
    const message = typeof parameters.Message === 'string' ? parameters.Message : JSON.stringify(parameters.Message);
    const out = await client.send(
      new PublishCommand({ TopicArn: parameters.TopicArn, Subject: parameters.Subject, Message: message }),
    );
    return { MessageId: out.MessageId ?? '', SdkHttpMetadata: { HttpStatusCode: out.$metadata.httpStatusCode ?? 200 } };
  };
}
