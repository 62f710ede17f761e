import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type DeleteObjectCommandInput,
  type DeleteObjectCommandOutput,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type GetObjectTaggingCommandInput,
  type GetObjectTaggingCommandOutput,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
  type ListObjectVersionsCommandInput,
  type ListObjectVersionsCommandOutput,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * A versioned S3 bucket in memory behind aws-sdk-client-mock, answering as S3 does with versioning on: a PUT adds a
 * version, a DELETE without VersionId adds a delete marker (the object disappears from listings and GETs, its
 * versions stay), a DELETE with VersionId removes that version or marker for good. ListObjectVersions pages with
 * KeyMarker / VersionIdMarker (MaxKeys, default 1,000), newest version first per key.
 */

interface StoredVersion {
  readonly versionId: string;
  readonly body?: string;
  readonly marker: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

const $metadata = { httpStatusCode: 200, requestId: 'versioned-s3' };

export class VersionedS3 {
  /** `bucket/key` → versions, oldest first. */
  readonly objects = new Map<string, StoredVersion[]>();
  readonly mock = mockClient(S3Client);
  /** DeleteObject calls that fail with AccessDenied, by `key` or `key@versionId`. */
  readonly failingDeletes = new Set<string>();
  private counter = 0;

  constructor() {
    const mock = this.mock;
    mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput): Promise<PutObjectCommandOutput> => {
      const body = input.Body;
      if (typeof body !== 'string') throw new Error('VersionedS3: PutObject Body must be a string');
      const tags = Object.fromEntries(new URLSearchParams(input.Tagging ?? '').entries());
      const versionId = this.put(input.Bucket ?? '', input.Key ?? '', body, tags);
      return { $metadata, ETag: '"etag"', VersionId: versionId };
    });
    mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput): Promise<GetObjectCommandOutput> => {
      const version = this.find(input.Bucket ?? '', input.Key ?? '', input.VersionId);
      if (!version || version.marker || version.body === undefined) {
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
      }
      return {
        $metadata,
        VersionId: version.versionId,
        ContentLength: Buffer.byteLength(version.body),
        Body: sdkStreamMixin(Readable.from([Buffer.from(version.body, 'utf8')])),
      };
    });
    mock
      .on(GetObjectTaggingCommand)
      .callsFake(async (input: GetObjectTaggingCommandInput): Promise<GetObjectTaggingCommandOutput> => {
        const version = this.find(input.Bucket ?? '', input.Key ?? '', input.VersionId);
        if (!version || version.marker) {
          throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
        }
        return {
          $metadata,
          VersionId: version.versionId,
          TagSet: Object.entries(version.tags).map(([Key, Value]) => ({ Key, Value })),
        };
      });
    mock
      .on(DeleteObjectCommand)
      .callsFake(async (input: DeleteObjectCommandInput): Promise<DeleteObjectCommandOutput> => {
        const key = input.Key ?? '';
        if (this.failingDeletes.has(key) || this.failingDeletes.has(`${key}@${input.VersionId ?? ''}`)) {
          throw new S3ServiceException({
            name: 'AccessDenied',
            $fault: 'client',
            message: 'Access Denied',
            $metadata: { httpStatusCode: 403 },
          });
        }
        const id = `${input.Bucket}/${key}`;
        const versions = this.objects.get(id) ?? [];
        if (input.VersionId === undefined) {
          const versionId = this.nextVersion();
          this.objects.set(id, [...versions, { versionId, marker: true, tags: {} }]);
          return { $metadata, DeleteMarker: true, VersionId: versionId };
        }
        const removed = versions.find((v) => v.versionId === input.VersionId);
        const left = versions.filter((v) => v.versionId !== input.VersionId);
        if (left.length > 0) this.objects.set(id, left);
        else this.objects.delete(id);
        return { $metadata, VersionId: input.VersionId, ...(removed?.marker ? { DeleteMarker: true } : {}) };
      });
    mock
      .on(ListObjectVersionsCommand)
      .callsFake(async (input: ListObjectVersionsCommandInput): Promise<ListObjectVersionsCommandOutput> => {
        const all = this.entries(input.Bucket ?? '', input.Prefix ?? '');
        let start = 0;
        if (input.KeyMarker !== undefined) {
          start = all.findIndex((e) => e.key === input.KeyMarker && e.version.versionId === input.VersionIdMarker) + 1;
        }
        const max = input.MaxKeys ?? 1000;
        const page = all.slice(start, start + max);
        const truncated = start + max < all.length;
        const last = page.at(-1);
        const item = (e: (typeof all)[number]) => ({
          Key: e.key,
          VersionId: e.version.versionId,
          IsLatest: e.latest,
          LastModified: new Date('2026-11-26T10:00:00.000Z'),
        });
        return {
          $metadata,
          IsTruncated: truncated,
          Versions: page
            .filter((e) => !e.version.marker)
            .map((e) => ({ ...item(e), Size: e.version.body?.length ?? 0 })),
          DeleteMarkers: page.filter((e) => e.version.marker).map(item),
          ...(truncated && last ? { NextKeyMarker: last.key, NextVersionIdMarker: last.version.versionId } : {}),
        };
      });
    mock
      .on(ListObjectsV2Command)
      .callsFake(async (input: ListObjectsV2CommandInput): Promise<ListObjectsV2CommandOutput> => {
        const keys = this.currentKeys(input.Bucket ?? '').filter((k) => k.startsWith(input.Prefix ?? ''));
        return { $metadata, IsTruncated: false, KeyCount: keys.length, Contents: keys.map((Key) => ({ Key })) };
      });
  }

  private nextVersion(): string {
    this.counter += 1;
    return `v${String(this.counter).padStart(4, '0')}`;
  }

  /** Adds a version (as a PUT would); returns its version id. */
  put(bucket: string, key: string, body: string, tags: Record<string, string> = {}): string {
    const versionId = this.nextVersion();
    const id = `${bucket}/${key}`;
    this.objects.set(id, [...(this.objects.get(id) ?? []), { versionId, body, marker: false, tags }]);
    return versionId;
  }

  /** Adds a delete marker (as a DELETE without VersionId would). */
  remove(bucket: string, key: string): void {
    const id = `${bucket}/${key}`;
    this.objects.set(id, [...(this.objects.get(id) ?? []), { versionId: this.nextVersion(), marker: true, tags: {} }]);
  }

  private find(bucket: string, key: string, versionId?: string): StoredVersion | undefined {
    const versions = this.objects.get(`${bucket}/${key}`) ?? [];
    return versionId === undefined ? versions.at(-1) : versions.find((v) => v.versionId === versionId);
  }

  /** Every version and marker of the bucket under a prefix, by key, newest first per key. */
  private entries(bucket: string, prefix: string) {
    return [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${bucket}/${prefix}`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([id, versions]) =>
        [...versions].reverse().map((version, i) => ({ key: id.slice(bucket.length + 1), version, latest: i === 0 })),
      );
  }

  /** Keys whose latest version is an object (not a delete marker): what a listing or a plain GET sees. */
  currentKeys(bucket: string): string[] {
    return [...this.objects.entries()]
      .filter(([id, versions]) => id.startsWith(`${bucket}/`) && versions.at(-1)?.marker === false)
      .map(([id]) => id.slice(bucket.length + 1))
      .sort();
  }

  /** The text of the current version, or undefined. */
  current(bucket: string, key: string): string | undefined {
    const latest = this.find(bucket, key);
    return latest && !latest.marker ? latest.body : undefined;
  }

  /** Every stored body (all versions of all keys), for "is it anywhere" checks. */
  allBodies(bucket: string): { key: string; versionId: string; body: string }[] {
    return this.entries(bucket, '').flatMap((e) =>
      e.version.body === undefined ? [] : [{ key: e.key, versionId: e.version.versionId, body: e.version.body }],
    );
  }

  /** Every version id and marker, by key (a snapshot to compare). */
  snapshot(bucket: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const e of this.entries(bucket, '')) {
      (out[e.key] ??= []).push(`${e.version.versionId}${e.version.marker ? ' (marker)' : ''}`);
    }
    return out;
  }

  tags(bucket: string, key: string): Record<string, string> {
    return { ...(this.find(bucket, key)?.tags ?? {}) };
  }

  restore(): void {
    this.mock.restore();
  }
}
