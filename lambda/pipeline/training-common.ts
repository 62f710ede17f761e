import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { z } from 'zod';

/** Shared by the training-stage handlers (each bundle gets its own module-scope instances). */
export const logger = new Logger();
export const tracer = new Tracer();

/** An environment variable the construct sets; missing means a deployment mistake, said plainly. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set: the function must be deployed by the pipeline stack`);
  }
  return value;
}

export function numberEnv(name: string): number {
  const value = Number(requiredEnv(name));
  if (!Number.isFinite(value)) throw new Error(`environment variable ${name} must be a number`);
  return value;
}

/** Validates a handler's input from the state machine; the error names the field and the state that feeds it. */
export function parseInput<T extends z.ZodType>(schema: T, event: unknown, step: string): z.output<T> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`);
    throw new Error(`${step}: invalid input from the state machine: ${problems.join('; ')}`);
  }
  return result.data;
}

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** The error's SDK name (ConflictException, ThrottlingException…), or undefined. */
export const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

export async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body.transformToString('utf-8');
}

/** Like readText, but undefined when the object does not exist. */
export async function readTextIfExists(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    return await readText(s3, bucket, key);
  } catch (error) {
    if (errorName(error) === 'NoSuchKey' || errorName(error) === 'NotFound') return undefined;
    throw error;
  }
}

/** Dates in SDK responses become ISO strings so that the state stays plain JSON. */
export const isoDates = <T>(value: T): unknown => JSON.parse(JSON.stringify(value ?? {})) as unknown;
