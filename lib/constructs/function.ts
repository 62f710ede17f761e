import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The one runtime every function of the app uses: the newest Node.js Lambda offers (cdk-nag L1 checks it stays so). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** esbuild options shared by the deployed functions and the router benchmark, so both bundle the same way. */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  // Maps without the sources' text (file:line mapping only): 1.5 MB instead of 4.3 MB for the router, which
  // --enable-source-maps parses at load (~5 ms instead of ~25 ms of cold start; npm run bench:router).
  sourcesContent: false,
  target: 'node24',
  format: OutputFormat.CJS,
  // Bundle the pinned AWS SDK, not the runtime's: Lambda updates the runtime's SDK on its own schedule (the runtime
  // version is not pinned here), it may predate the Bedrock APIs the pipeline calls (custom model deployments), and
  // the tests run the pinned one. The price: 360–600 KiB per function that calls AWS (docs/bundles.md).
  externalModules: [] as string[],
  // Prefer the packages' ES module builds: esbuild can then tree-shake the AWS SDK clients (the CommonJS builds are one
  // file per client), which cuts the router bundle by ~280 KiB and its cold start (npm run bench:router).
  mainFields: ['module', 'main'] as string[],
  // esbuild's warnings and errors only: its default (info) prints a size summary with ⚠️ over 1 MB on every synth.
  // Sizes are held by the budgets in test/bundles/budgets.test.ts instead (docs/bundles.md).
  logLevel: LogLevel.WARNING,
} as const;

export interface FunctionProps {
  /** Handler file, relative to `lambda/` (e.g. `router/handler.ts`); the export is `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Powertools service name (logs, metrics namespace dimension, traces). */
  readonly serviceName: string;
  readonly logRetentionDays: number;
  /**
   * Keep the log group when the stack is deleted (the app's `retainData`): logs are run and request history, kept
   * with the data they describe; they still expire after `logRetentionDays`.
   */
  readonly retainLogs: boolean;
  readonly environment?: Record<string, string>;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly reservedConcurrentExecutions?: number;
  /** X-Ray mode; default Active. The router passes PassThrough (traced when its caller's request is sampled). */
  readonly tracing?: lambda.Tracing;
  /**
   * Lambda's own start and report events per invocation (system log level INFO, the default) or only its warnings
   * (WARN): a function invoked per request pays for both events on every request.
   */
  readonly platformLogs?: boolean;
}

/**
 * The house Lambda: NodejsFunction on one runtime, ARM64, active tracing, an explicit log group with retention,
 * minified bundles with source maps, the SDK clients bundled. Every function of the app is one of these.
 */
export class Function extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  /** The handler file's absolute path (npm run bench:bundles finds every function's entry here). */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: FunctionProps) {
    super(scope, id);
    this.entry = path.join(PROJECT_ROOT, 'lambda', props.entry);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const functionProps: NodejsFunctionProps = {
      entry: this.entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      tracing: props.tracing ?? lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.platformLogs === false ? { systemLogLevelV2: lambda.SystemLogLevel.WARN } : {}),
      logGroup: this.logGroup,
      description: props.description,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'DistilledIntentRouter',
        ...props.environment,
      },
      bundling: { ...BUNDLING, externalModules: [...BUNDLING.externalModules] },
    };
    this.function = new NodejsFunction(this, 'Function', functionProps);

    // What every function's role carries and no construct can narrow.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "Lambda's AWS-managed basic execution policy: it lets the function write its own logs, nothing else.",
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only actions without resource-level permissions are granted on "*": xray:PutTraceSegments and ' +
        'xray:PutTelemetryRecords (active tracing) and Bedrock List* calls; test/audit/wildcard-actions.test.ts ' +
        'fails on any other action granted on "*".',
    });
  }
}
