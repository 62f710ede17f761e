import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { runKeys } from './runs';

/**
 * A run's objects in S3, written once: every write is conditional (`If-None-Match: *`), so a retry, a redrive or a
 * second execution can never overwrite what a run already wrote. Handlers get one of these; tests use it over
 * aws-sdk-client-mock.
 */
export interface RunStore {
  readonly bucket: string;
  /** The object's text, or undefined when there is no such key. */
  read(key: string): Promise<string | undefined>;
  /**
   * Writes the object unless the key exists; true when this call wrote it, false when it was already there. `tagging`
   * (PutObject's URL-encoded tag set) needs s3:PutObjectTagging on the key besides s3:PutObject.
   */
  writeOnce(key: string, body: string, contentType?: string, tagging?: string): Promise<boolean>;
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
    async writeOnce(key, body, contentType = 'application/x-ndjson', tagging) {
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            IfNoneMatch: '*',
            ...(tagging === undefined ? {} : { Tagging: tagging }),
          }),
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

/** `runs/<runId>/owner.json`: which execution a run id belongs to (written once by Preflight). */
export const runOwnerKey = (runId: string) => runKeys(runId).owner;

/** The execution that first used a run id. */
export interface RunOwner {
  readonly runId: string;
  /** `$$.Execution.Id`: the execution ARN, which a redrive or a retry keeps. */
  readonly executionId: string;
  /** `$$.Execution.StartTime`: kept by a redrive, new for a new execution that reuses the name (and so the ARN). */
  readonly startTime: string;
}

export type RunClaim =
  /** This execution owns the run id: `firstClaim` when this call wrote owner.json, false for a retry or redrive. */
  | { readonly owned: true; readonly firstClaim: boolean; readonly key: string }
  /** Another execution (`owner`) used the run id first; `owner` is undefined when owner.json is not a valid record. */
  | { readonly owned: false; readonly key: string; readonly owner: RunOwner | undefined };

function parseOwner(text: string): RunOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<RunOwner> | null;
    return typeof value?.executionId === 'string' && typeof value.runId === 'string'
      ? { runId: value.runId, executionId: value.executionId, startTime: String(value.startTime ?? '') }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims the run id for an execution. Step Functions accepts an execution name again once the old execution's
 * history has expired (90 days) or the state machine was recreated, and such a new execution gets the very same
 * execution ARN; every job name, token and S3 key derives from the run id. Without this, a new execution would
 * silently adopt the old run's plan, jobs, deployment and promotion.
 *
 * What tells them apart is the start time: a redrive keeps the execution ARN and its `$$.Execution.StartTime` (the
 * redrive's own time is a separate `$$.Execution.RedriveTime`, see docs/aws-facts.md), and a retry of Preflight runs
 * inside the same execution, so only an execution that is really the same one presents both the same ARN and the same
 * start time. The first execution writes owner.json (If-None-Match); any other finds the run id taken.
 */
export async function claimRun(store: RunStore, owner: RunOwner): Promise<RunClaim> {
  const key = runOwnerKey(owner.runId);
  if (await store.writeOnce(key, `${JSON.stringify(owner, null, 2)}\n`, 'application/json')) {
    return { owned: true, firstClaim: true, key };
  }
  const text = await store.read(key);
  // Written by a racing request a moment ago and not readable yet: the step's retry reads it.
  if (text === undefined) throw new RunObjectMissing(`${s3Uri(store.bucket, key)} was just written but cannot be read`);
  const existing = parseOwner(text);
  return existing?.executionId === owner.executionId && sameInstant(existing.startTime, owner.startTime)
    ? { owned: true, firstClaim: false, key }
    : { owned: false, key, owner: existing };
}

/** The same point in time, however it was formatted (the context object's ISO 8601 text may differ in precision). */
function sameInstant(a: string, b: string): boolean {
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  return Number.isNaN(ta) || Number.isNaN(tb) ? a === b && a !== '' : ta === tb;
}
