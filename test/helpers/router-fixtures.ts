import type { ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import type { GetParameterCommandOutput } from '@aws-sdk/client-ssm';
import type { RouterSettings } from '../../lambda/router/settings';
import { converseReply } from './aws-mocks';

/** What the router tests share: the parameter, a promoted student, the settings, and replies in the SDK's shapes. */

export const PARAMETER = '/intent-router/test/active-model';
export const DEPLOYMENT = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456';
export const MODEL_ARN = 'arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc';

/** The active-model value of a student promoted before versioned formats: it answers JSON (student-v1). */
export const PROMOTED = JSON.stringify({
  deploymentArn: DEPLOYMENT,
  modelArn: MODEL_ARN,
  runId: 'run-1',
  promotedAt: '2026-11-25T20:00:00.000Z',
  studentPromptVersion: 'student-v1',
  metrics: { judgeScore: 4.1 },
});

export const ROUTER_SETTINGS: RouterSettings = {
  activeModelParameter: PARAMETER,
  parameterCacheTtlSeconds: 60,
  latencyBudgetMs: 1000,
  defaultWeights: { visual: 0.4, audio: 0.2, transcription: 0.2, metadata: 0.2 },
  cacheSize: 100,
  cacheTtlSeconds: 300,
  logQueries: false,
  maxTokens: 80,
  corsAllowOrigins: [],
};

export const AUDIO = '{"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}';
export const METADATA = '{"visual":0.3,"audio":0,"transcription":0.1,"metadata":0.6}';

/** A student's Converse reply: 41 tokens in, 23 out. */
export const studentReply = (text: string): ConverseCommandOutput =>
  converseReply(text, { inputTokens: 41, outputTokens: 23 });

/** GetParameter's reply for the active-model parameter holding `value`. */
export const parameterReply = (value: string, version = 2): GetParameterCommandOutput => ({
  $metadata: { httpStatusCode: 200, requestId: 'ssm-1' },
  Parameter: {
    Name: PARAMETER,
    Type: 'String',
    Value: value,
    Version: version,
    DataType: 'text',
    ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${PARAMETER}`,
    LastModifiedDate: new Date('2026-11-25T20:00:00Z'),
  },
});
