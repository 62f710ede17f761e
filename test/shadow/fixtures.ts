import type { SQSRecord } from 'aws-lambda';
import type { ShadowSample } from '../../lambda/core/shadow';

/** Shadow messages and SQS records in their real shapes, shared by the labeller and whole-loop tests. */
export const DEPLOYMENT = 'arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456';
export const AUDIO = { visual: 0.3, audio: 0.6, transcription: 0, metadata: 0.1 };

export const sample = (query: string, over: Partial<ShadowSample['answer']> = {}): ShadowSample => ({
  query,
  answer: {
    weights: AUDIO,
    dominant: 'audio',
    source: 'student',
    model: DEPLOYMENT,
    promptVersion: 'student-v1',
    cached: false,
    ...over,
  },
  at: '2026-11-26T10:00:00.000Z',
});

export const sqsRecord = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: `handle-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1764151200000',
    SenderId: 'AROAEXAMPLE:router',
    ApproximateFirstReceiveTimestamp: '1764151200100',
  },
  messageAttributes: {},
  md5OfBody: 'e99a18c428cb38d5f260853678922e03',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:intent-router-test-shadow',
  awsRegion: 'us-east-1',
});
