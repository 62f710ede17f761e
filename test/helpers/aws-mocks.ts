import { Readable } from 'node:stream';
import {
  ThrottlingException,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type HeadObjectCommandInput,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * AWS at the SDK boundary for handler and state machine tests: an in-memory S3 bucket behind aws-sdk-client-mock
 * (conditional writes included), and Converse replies in the real response shape.
 */

/** S3 as a map of `bucket/key` → text, with `If-None-Match: *` answered like S3 (412 PreconditionFailed). */
export class InMemoryS3 {
  readonly objects = new Map<string, string>();
  readonly mock = mockClient(S3Client);
  readonly puts: { bucket: string; key: string; ifNoneMatch?: string; tagging?: string }[] = [];
  /** PutObject's `Tagging` (URL query form, e.g. `intent-router:data=live-queries`) of each key that was written with one. */
  readonly tagging = new Map<string, string>();

  constructor() {
    const mock = this.mock;
    mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput): Promise<GetObjectCommandOutput> => {
      const text = this.objects.get(`${input.Bucket}/${input.Key}`);
      if (text === undefined)
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
      return {
        $metadata: { httpStatusCode: 200 },
        ContentLength: Buffer.byteLength(text),
        Body: sdkStreamMixin(Readable.from([Buffer.from(text, 'utf8')])),
      };
    });
    mock.on(HeadObjectCommand).callsFake(async (input: HeadObjectCommandInput): Promise<HeadObjectCommandOutput> => {
      const text = this.objects.get(`${input.Bucket}/${input.Key}`);
      if (text === undefined) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
      return { $metadata: { httpStatusCode: 200 }, ContentLength: Buffer.byteLength(text) };
    });
    mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput): Promise<PutObjectCommandOutput> => {
      const id = `${input.Bucket}/${input.Key}`;
      this.puts.push({
        bucket: input.Bucket ?? '',
        key: input.Key ?? '',
        ...(input.IfNoneMatch ? { ifNoneMatch: input.IfNoneMatch } : {}),
        ...(input.Tagging ? { tagging: input.Tagging } : {}),
      });
      if (input.IfNoneMatch === '*' && this.objects.has(id)) {
        throw new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          message: 'At least one of the pre-conditions you specified did not hold',
          $metadata: { httpStatusCode: 412 },
        });
      }
      const body = input.Body;
      // The handlers write strings; anything else would be stored wrongly, so say so rather than store ''.
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new Error(`InMemoryS3: unsupported PutObject Body (${typeof body}) for ${id}`);
      }
      this.objects.set(id, typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
      // A new object (or version) has only the tags its PutObject gave.
      if (input.Tagging) this.tagging.set(id, input.Tagging);
      else this.tagging.delete(id);
      return { $metadata: { httpStatusCode: 200 }, ETag: '"etag"' };
    });
  }

  get(bucket: string, key: string): string | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  /** The Tagging the object was last written with, or undefined. */
  tagsOf(bucket: string, key: string): string | undefined {
    return this.tagging.get(`${bucket}/${key}`);
  }

  set(bucket: string, key: string, text: string): void {
    this.objects.set(`${bucket}/${key}`, text);
  }

  keys(bucket: string): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/`)).map((k) => k.slice(bucket.length + 1));
  }

  restore(): void {
    this.mock.restore();
  }
}

/** A Converse reply in the SDK's real output shape (usage and metrics included). */
export function converseReply(text: string, usage = { inputTokens: 420, outputTokens: 28 }): ConverseCommandOutput {
  return {
    $metadata: { httpStatusCode: 200, requestId: 'a1b2c3', attempts: 1, totalRetryDelay: 0 },
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason: 'end_turn',
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    metrics: { latencyMs: 310 },
  };
}

export const throttling = () =>
  new ThrottlingException({
    message: 'Too many requests, please wait before trying again.',
    $metadata: { httpStatusCode: 429, requestId: 'throttled' },
  });

/** The text of a Converse request's first user turn and its system prompt. */
export function requestTexts(input: ConverseCommandInput): { system: string; user: string } {
  const system = (input.system ?? []).map((b) => ('text' in b ? (b.text ?? '') : '')).join('');
  const user = (input.messages?.[0]?.content ?? []).map((b) => b.text ?? '').join('');
  return { system, user };
}
