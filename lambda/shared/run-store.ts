import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';

/**
 * A run's objects in S3, written once: every write is conditional (`If-None-Match: *`), so a retry, a redrive or a
 * second execution can never overwrite what a run already wrote. Handlers get one of these; tests use it over
 * aws-sdk-client-mock.
 */
export interface RunStore {
  readonly bucket: string;
  /** The object's text, or undefined when there is no such key. */
  read(key: string): Promise<string | undefined>;
  /** Writes the object unless the key exists; true when this call wrote it, false when it was already there. */
  writeOnce(key: string, body: string, contentType?: string): Promise<boolean>;
}

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** S3 answers a conditional write on an existing key with 412 PreconditionFailed (409 while another write races). */
const isAlreadyWritten = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.name === 'PreconditionFailed' ||
    error.name === 'ConditionalRequestConflict' ||
    error.$metadata.httpStatusCode === 412);

const isMissing = (error: unknown): boolean =>
  error instanceof NoSuchKey || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404);

export function s3RunStore(s3: S3Client, bucket: string): RunStore {
  return {
    bucket,
    async read(key) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await object.Body?.transformToString('utf-8')) ?? '';
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async writeOnce(key, body, contentType = 'application/x-ndjson') {
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: '*' }),
        );
        return true;
      } catch (error) {
        if (isAlreadyWritten(error)) return false;
        throw error;
      }
    },
  };
}

/** An object a step needs is not there: an earlier step did not write it, or the input names the wrong run. */
export class RunObjectMissing extends Error {
  override readonly name = 'RunObjectMissing';
}

/**
 * The text of an object that must exist. A missing key throws RunObjectMissing naming its s3:// URI and `fix`, after
 * `context` (what asked for it) when given.
 */
export async function readExisting(store: RunStore, key: string, fix: string, context?: string): Promise<string> {
  const text = await store.read(key);
  if (text !== undefined) return text;
  throw new RunObjectMissing(`${context ? `${context}: ` : ''}${s3Uri(store.bucket, key)} does not exist; ${fix}`);
}
