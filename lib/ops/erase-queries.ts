import { createHash } from 'node:crypto';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { dayOfKey, isDay, readProductionLines } from '../../lambda/core/production-records';
import { normaliseQuery } from '../../lambda/core/query-key';
import {
  explicitRegion,
  flagHelp,
  parseArgs,
  projectContext,
  PROJECT_ROOT,
  REGION_FLAG,
  UsageError,
  type FlagSpecs,
} from '../cli/args';
import { explainAwsError, resolvedRegion, withAwsHints } from '../cli/errors';
import { pipelineOutputs } from '../cli/pipeline';
import { opsEnvironment } from './rollback';

/**
 * `npm run erase-queries -- --env <envName> (--contains TEXT | --query-hash H | --before DAY) [--dry-run]`: erases a
 * user's live queries from every stored copy in the dataset bucket — production records, the runs' copies (production
 * selection, held-out and training sets, evaluation answers) and reports — in every object version (the bucket is
 * versioned: a plain delete would only hide them behind a delete marker). A JSONL file keeps its other lines: it is
 * written again without the erased ones, then the versions that held them are deleted. Any other file that quotes
 * an erased query (a report) is deleted whole. A run started afterwards reads only current objects, so it cannot
 * bring an erased query back. docs/data-handling.md#erasure.
 */

export const ERASE_FLAGS = {
  env: { type: 'string', help: 'the environment (config envName) whose dataset bucket to erase from' },
  region: REGION_FLAG,
  contains: { type: 'string', help: 'erase every stored query containing this text (case and spacing ignored)' },
  'query-hash': {
    type: 'string',
    help: 'erase the query whose hash this is: sha256 of the normalised query (see --dry-run output)',
    check: (v) => (/^[0-9a-f]{64}$/.test(v) ? undefined : `"${v}" is not a query hash: 64 lowercase hex digits`),
  },
  before: {
    type: 'string',
    help: 'erase the production records of every day before this one (YYYY-MM-DD, UTC) and their copies',
    check: (v) => (isDay(v) ? undefined : `"${v}" is not a day: use YYYY-MM-DD, e.g. 2026-11-26`),
  },
  'dry-run': { type: 'boolean', help: 'list what would be erased, change nothing' },
} as const satisfies FlagSpecs;

export const ERASE_HELP =
  'Usage: npm run erase-queries -- --env <envName> (--contains <text> | --query-hash <sha256> | --before <YYYY-MM-DD>) ' +
  `[--dry-run] [--region <region>]\n${flagHelp(ERASE_FLAGS, { allowContext: true })}`;

/** Where live queries can rest in the dataset bucket: production records and everything under runs/. */
export const ERASE_PREFIXES = ['production/', 'runs/'] as const;

/** Files read as text (what the pipeline writes); anything else (model artifacts) holds no query text. */
const TEXT_FILE = /\.(jsonl|json|md|html|csv|txt)$/;

/**
 * The query hash: sha256 (hex) of the query normalised as the router's cache key normalises it (NFKC, trimmed,
 * whitespace collapsed, lower case), so "Dog  Barking" and "dog barking" are one query.
 */
export const queryHash = (query: string): string =>
  createHash('sha256').update(normaliseQuery(query), 'utf8').digest('hex');

export type EraseSelector =
  | { readonly kind: 'contains'; readonly text: string }
  | { readonly kind: 'query-hash'; readonly hash: string }
  | { readonly kind: 'before'; readonly day: string };

export type EraseAction =
  | {
      readonly action: 'delete';
      readonly key: string;
      readonly versionId: string;
      readonly marker: boolean;
      /** The key's current version (kept until the rewrite without the erased lines has landed). */
      readonly current: boolean;
    }
  | { readonly action: 'rewrite'; readonly key: string; readonly removedLines: number };

export interface EraseOutcome {
  readonly done: readonly (EraseAction & { readonly newVersionId?: string })[];
  readonly failed: readonly (EraseAction & { readonly reason: string })[];
  /** Hashes of the stored queries found, with how many lines (over all versions) held each. */
  readonly queries: ReadonlyMap<string, number>;
}

interface Version {
  readonly versionId: string;
  readonly latest: boolean;
  readonly marker: boolean;
}

/** Every version and delete marker under the prefixes, by key. */
async function versionsByKey(s3: S3Client, bucket: string): Promise<Map<string, Version[]>> {
  const byKey = new Map<string, Version[]>();
  const add = (key: string | undefined, v: Version) => {
    if (!key) return;
    byKey.set(key, [...(byKey.get(key) ?? []), v]);
  };
  for (const prefix of ERASE_PREFIXES) {
    // The SDK has no paginator for ListObjectVersions: its pages continue from a key and version id pair.
    let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...marker }));
      for (const v of page.Versions ?? [])
        add(v.Key, { versionId: v.VersionId ?? 'null', latest: v.IsLatest ?? false, marker: false });
      for (const m of page.DeleteMarkers ?? [])
        add(m.Key, { versionId: m.VersionId ?? 'null', latest: m.IsLatest ?? false, marker: true });
      if (!page.IsTruncated) break;
      marker = {
        ...(page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker } : {}),
        ...(page.NextVersionIdMarker ? { VersionIdMarker: page.NextVersionIdMarker } : {}),
      };
    }
  }
  return byKey;
}

async function readVersion(s3: S3Client, bucket: string, key: string, versionId: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return (await object.Body?.transformToString('utf8')) ?? '';
}

/** Every string in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Where a JSONL line holds a query: a conversation record's user turns (not its system prompt, which names the
 * modalities every record shares), an evaluation prompt's `prompt`, else every string of the line.
 */
function queryFields(line: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return [line];
  }
  if (isObject(value) && Array.isArray(value['messages'])) {
    return value['messages'].filter((m) => isObject(m) && m['role'] === 'user').flatMap(strings);
  }
  if (isObject(value) && typeof value['prompt'] === 'string') return [value['prompt']];
  return strings(value);
}

const HTML_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
/** A report's text as its reader sees it: JSON strings decoded, HTML entities resolved. */
function documentText(key: string, text: string): string {
  if (key.endsWith('.json')) {
    try {
      return strings(JSON.parse(text)).join('\n');
    } catch {
      return text;
    }
  }
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (e) => HTML_ENTITIES[e] ?? e);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Does a text hold one of `queries` whole (between word boundaries, normalised)? */
function holdsAny(queries: readonly string[]): (text: string) => boolean {
  const patterns = [...new Set(queries.map(normaliseQuery))].map(
    (q) => new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(q)}($|[^\\p{L}\\p{N}])`, 'u'),
  );
  return (text) => {
    const normal = normaliseQuery(text);
    return patterns.some((p) => p.test(normal));
  };
}

/** The live queries (the user turns of records) of a JSONL text. */
const recordQueries = (text: string): string[] =>
  readProductionLines(text).flatMap((line) => (line.ok ? [line.query] : []));

/**
 * Finds and (unless dryRun) erases. Reads every version of every text object under production/ and runs/, finds the
 * lines (JSONL) or objects holding the selected queries, rewrites current JSONL files without those lines, deletes
 * every version that held one, and a key's delete markers once none of its versions is left. Goes on after a
 * failure; the outcome lists what was done and what could not be.
 */
export async function eraseQueries(
  s3: S3Client,
  bucket: string,
  selector: EraseSelector,
  options: { readonly dryRun?: boolean } = {},
): Promise<EraseOutcome> {
  const byKey = await versionsByKey(s3, bucket);
  const texts = new Map<string, string>();
  const textOf = async (key: string, versionId: string) => {
    const id = `${key}\n${versionId}`;
    let text = texts.get(id);
    if (text === undefined) {
      text = await readVersion(s3, bucket, key, versionId);
      texts.set(id, text);
    }
    return text;
  };
  const readable = [...byKey.entries()].filter(([key]) => TEXT_FILE.test(key));

  // 1. Which stored queries: those containing the text, with the hash, or in the records of the days before.
  const wholeKeys = new Set<string>();
  const queries = new Set<string>();
  const needle = selector.kind === 'contains' ? normaliseQuery(selector.text) : '';
  for (const [key, versions] of readable) {
    if (!key.endsWith('.jsonl')) continue;
    const day = dayOfKey(key);
    if (selector.kind === 'before' && (day === undefined || day >= selector.day)) continue;
    if (selector.kind === 'before') wholeKeys.add(key);
    for (const v of versions.filter((x) => !x.marker)) {
      for (const q of recordQueries(await textOf(key, v.versionId))) {
        const selected =
          selector.kind === 'before' ||
          (selector.kind === 'contains' ? normaliseQuery(q).includes(needle) : queryHash(q) === selector.hash);
        if (selected) queries.add(q);
      }
    }
  }
  const holds = holdsAny([...queries]);
  const lineHit = (line: string) =>
    queryFields(line).some((t) => (selector.kind === 'contains' && normaliseQuery(t).includes(needle)) || holds(t));

  // 2. What to do, key by key.
  const found = new Map<string, number>();
  const plan: { action: EraseAction; text?: string }[] = [];
  for (const [key, versions] of readable) {
    const hit: Version[] = [];
    let rewrite: { text: string; removed: number } | undefined;
    const jsonl = key.endsWith('.jsonl');
    for (const v of versions.filter((x) => !x.marker)) {
      const text = await textOf(key, v.versionId);
      const lines = jsonl ? text.split('\n') : [];
      const hitLines = wholeKeys.has(key)
        ? lines.filter((l) => l.trim() !== '')
        : jsonl
          ? lines.filter((l) => l.trim() !== '' && lineHit(l))
          : queries.size > 0 && holds(documentText(key, text))
            ? [text]
            : [];
      if (hitLines.length === 0) continue;
      hit.push(v);
      for (const q of jsonl ? hitLines.flatMap(recordQueries) : []) {
        const h = queryHash(q);
        found.set(h, (found.get(h) ?? 0) + 1);
      }
      if (v.latest && jsonl && !wholeKeys.has(key)) {
        const kept = lines.filter((l) => !hitLines.includes(l));
        if (kept.some((l) => l.trim() !== '')) rewrite = { text: kept.join('\n'), removed: hitLines.length };
      }
    }
    if (hit.length === 0) continue;
    if (rewrite) plan.push({ action: { action: 'rewrite', key, removedLines: rewrite.removed }, text: rewrite.text });
    for (const v of hit) {
      plan.push({ action: { action: 'delete', key, versionId: v.versionId, marker: false, current: v.latest } });
    }
    // Nothing of the key left: its delete markers go too, so the key is gone from every listing.
    if (!rewrite && hit.length === versions.filter((x) => !x.marker).length) {
      for (const m of versions.filter((x) => x.marker)) {
        plan.push({ action: { action: 'delete', key, versionId: m.versionId, marker: true, current: m.latest } });
      }
    }
  }

  if (options.dryRun) return { done: plan.map((p) => p.action), failed: [], queries: found };
  const done: (EraseAction & { newVersionId?: string })[] = [];
  const failed: (EraseAction & { reason: string })[] = [];
  const rewriteFailed = new Set<string>();
  for (const step of plan) {
    const { action } = step;
    try {
      if (action.action === 'rewrite') {
        // The copy keeps its tags (the live-queries tag its expiry rule matches).
        const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: action.key }));
        const tagging = (TagSet ?? [])
          .map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`)
          .join('&');
        const put = await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: action.key,
            Body: step.text ?? '',
            ContentType: 'application/x-ndjson',
            ...(tagging ? { Tagging: tagging } : {}),
          }),
        );
        done.push({ ...action, ...(put.VersionId ? { newVersionId: put.VersionId } : {}) });
      } else {
        // Without a rewritten current version the old one must stay current: deleting it would lose the other lines.
        if (action.current && rewriteFailed.has(action.key)) {
          throw new Error('kept as the current version: the file could not be rewritten without the erased lines');
        }
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: action.key, VersionId: action.versionId }));
        done.push(action);
      }
    } catch (error) {
      if (action.action === 'rewrite') rewriteFailed.add(action.key);
      const reason =
        explainAwsError(error)?.split('\n')[0] ??
        (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      failed.push({ ...action, reason });
    }
  }
  return { done, failed, queries: found };
}

const describeAction = (a: EraseAction) =>
  a.action === 'rewrite'
    ? `${a.key} rewritten without ${a.removedLines} line(s)`
    : `${a.key} ${a.marker ? 'delete marker' : 'version'} ${a.versionId}`;

/** What was (or would be) erased, what could not be, and the hashes of the queries found. */
export function renderErase(bucket: string, outcome: EraseOutcome, dryRun: boolean): string {
  const lines = [`Dataset bucket ${bucket}:`];
  if (outcome.done.length === 0 && outcome.failed.length === 0) lines.push('  no stored copy found');
  for (const a of outcome.done) lines.push(`  ${dryRun ? 'would erase' : 'erased'}  ${describeAction(a)}`);
  for (const a of outcome.failed) lines.push(`  FAILED  ${describeAction(a)} — ${a.reason}`);
  if (outcome.queries.size > 0) {
    lines.push('Queries found (query hash: sha256 of the normalised query; lines over all versions):');
    for (const [hash, n] of outcome.queries) lines.push(`  ${hash}  ${n}`);
  }
  lines.push(
    dryRun
      ? `${outcome.done.length} step(s) would be taken (dry run: nothing changed).`
      : `${outcome.done.length} done, ${outcome.failed.length} failed${outcome.failed.length ? ': copies are left, run it again' : ''}.`,
  );
  return lines.join('\n');
}

export interface EraseClients {
  readonly s3: S3Client;
  readonly cfn: CloudFormationClient;
}

/** Parses the command line and erases; the text to print and the exit code (1 when anything was left). */
export async function runEraseQueries(
  argv: readonly string[],
  clients: (region?: string) => EraseClients,
  baseContext: Record<string, unknown> = projectContext(PROJECT_ROOT),
): Promise<{ text: string; exitCode: number }> {
  const { flags, positionals, context, help } = parseArgs(argv, ERASE_FLAGS, { allowContext: true });
  if (help) return { text: ERASE_HELP, exitCode: 0 };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const given = (['contains', 'query-hash', 'before'] as const).filter((f) => flags[f] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'say what to erase: --contains <text>, --query-hash <sha256> or --before <YYYY-MM-DD>'
        : `give one of --contains, --query-hash, --before, not ${given.map((f) => `--${f}`).join(' and ')}`,
    );
  }
  const selector: EraseSelector =
    flags.contains !== undefined
      ? { kind: 'contains', text: flags.contains }
      : flags['query-hash'] !== undefined
        ? { kind: 'query-hash', hash: flags['query-hash'] }
        : { kind: 'before', day: flags.before ?? '' };
  const envName = opsEnvironment(flags.env, context, baseContext);
  const built = clients(explicitRegion(flags.region, context, baseContext));
  const region = await resolvedRegion(built.s3);
  const dryRun = flags['dry-run'] ?? false;
  return withAwsHints({ envName, region }, async () => {
    const { datasetBucketName } = await pipelineOutputs(built.cfn, envName);
    const outcome = await eraseQueries(built.s3, datasetBucketName, selector, { dryRun });
    return { text: renderErase(datasetBucketName, outcome, dryRun), exitCode: outcome.failed.length > 0 ? 1 : 0 };
  });
}
