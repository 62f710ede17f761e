import { ConverseCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { replyText, usageOf } from '../core/bedrock';
import type { Modality, Weights } from '../core/modality';
import type { TokenUsage } from '../core/prices';
import type { AnswerFormat } from '../core/student-format';
import type { WeightsErrorCode } from '../core/weights';

/** What one model call ended with. `usage` is present whenever the model answered (tokens were billed). */
export type ModelOutcome =
  | { readonly ok: true; readonly weights: Weights; readonly dominant: Modality; readonly usage: TokenUsage }
  | {
      readonly ok: false;
      readonly failure: ModelFailure;
      readonly detail: string;
      readonly usage?: TokenUsage;
      readonly replyError?: WeightsErrorCode;
    };

/**
 * Why a call gave no usable weights. Every failure falls back to the next model of the plan (the fallback model after
 * the student), else to the default weights. `access` (AccessDenied / ResourceNotFound: a configuration fault no retry
 * can fix) is also alarmed (`ModelAccessErrors`) and logged once per container and model (see Router.routeOne).
 */
export type ModelFailure = 'timeout' | 'throttled' | 'invalid-reply' | 'access' | 'error';

const THROTTLED = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'ServiceUnavailableException',
  'ModelNotReadyException',
  'TooManyRequestsException',
]);
const ACCESS = new Set(['AccessDeniedException', 'ResourceNotFoundException']);

export interface ModelRequest {
  readonly modelId: string;
  readonly system: string;
  readonly query: string;
  readonly maxTokens: number;
  /** How the reply is read: the format of the prompt the model was sent. */
  readonly format: AnswerFormat;
}

/**
 * One Converse call under a deadline. The SDK gets the abort signal (it cancels the HTTP request); the call is also
 * raced against the signal so the budget holds whatever the transport does (credentials, a slow connect, a stub).
 */
export async function askModel(
  client: BedrockRuntimeClient,
  request: ModelRequest,
  timeoutMs: number,
): Promise<ModelOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, timeoutMs);
  });
  const command = new ConverseCommand({
    modelId: request.modelId,
    system: [{ text: request.system }],
    messages: [{ role: 'user', content: [{ text: request.query }] }],
    inferenceConfig: { maxTokens: request.maxTokens, temperature: 0 },
  });
  const call = client.send(command, { abortSignal: controller.signal });
  try {
    const output = await Promise.race([call, expired]);
    if (output === 'timeout') {
      call.catch(() => undefined); // the aborted call rejects later: nobody waits for it any more
      return { ok: false, failure: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    }
    const usage = usageOf(output);
    const parsed = request.format.parse(replyText(output));
    if (!parsed.ok) {
      return {
        ok: false,
        failure: 'invalid-reply',
        detail: parsed.error.message,
        replyError: parsed.error.code,
        usage,
      };
    }
    return { ok: true, weights: parsed.weights, dominant: parsed.dominant, usage };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    if (controller.signal.aborted || name === 'AbortError') {
      return { ok: false, failure: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    }
    const failure: ModelFailure = THROTTLED.has(name) ? 'throttled' : ACCESS.has(name) ? 'access' : 'error';
    return { ok: false, failure, detail: `${name}: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}
