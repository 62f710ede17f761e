import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import type { Converse } from '../../core/teacher-labelling';
import type { TeacherRetryPolicy } from './teacher-calls';
import { tracer } from '../../core/runtime';

/**
 * How the pipeline's teacher clients retry (Generate shard, Calibrate labelling): one retry layer, chosen by
 * `npm run bench:generate -- --compare` (docs/pipeline-generation.md): the SDK's adaptive mode, whose client-side rate
 * limiter slows the sending once Bedrock throttles, so waiting happens in the client instead of as rejected calls. Our
 * own withRetry is then off (policy `sdk`): the layers never multiply.
 */
export const TEACHER_CLIENT_CONFIG = { retryMode: 'adaptive', maxAttempts: 8 } as const;
export const TEACHER_RETRY: TeacherRetryPolicy = { layer: 'sdk' };

/** The teacher's client (module scope: one per Lambda container) and one Converse call through it. */
const teacherClient = tracer.captureAWSv3Client(new BedrockRuntimeClient(TEACHER_CLIENT_CONFIG));
export const teacherConverse: Converse = (input) => teacherClient.send(new ConverseCommand(input));
