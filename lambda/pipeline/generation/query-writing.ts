import type { Domain, Phrasing, QueryTarget } from './query-plan';
import { RESERVED_STRINGS, reservedStringIn } from '../../core/dataset-validator';

/**
 * The teacher writes the queries it will later label. A different prompt from the labelling one, sampled with some
 * temperature so that batches differ; the reply is untrusted and parsed leniently (a JSON array of strings, possibly
 * wrapped in prose or code fences).
 */

export const QUERY_WRITER_PROMPT_VERSION = 'query-writer-v2';

/** Queries asked for per Converse call: large enough to save calls, small enough to keep replies short and complete. */
export const QUERIES_PER_WRITING_CALL = 25;
/** Output tokens allowed per writing call (a query is ~10-20 tokens with its JSON quoting). */
export const WRITING_MAX_TOKENS = 1200;
export const WRITING_TEMPERATURE = 0.9;
/** Longer queries are rejected: real search queries are short, and the student prompt is tuned for them. */
export const MAX_QUERY_LENGTH = 200;

const TARGET_GUIDE: Record<QueryTarget, string> = {
  visual: 'mainly about what is SEEN: appearance, colours, objects, actions, scenes, places',
  audio: 'mainly about non-speech SOUND: music, instruments, animal sounds, noise, sound effects',
  transcription: 'mainly about what is SAID: spoken words, dialogue, narration, quotes, lyrics, on-screen text',
  metadata: 'mainly about FACTS of the video: names of people, titles, channels, genres, dates, tags',
  mixed: 'about two or more of seen, heard, said and facts in similar measure, with no single clear focus',
};

const PHRASING_GUIDE: Record<Phrasing, string> = {
  keywords: 'a few keywords, no sentence',
  'natural sentence': 'a short natural sentence',
  question: 'a question',
  'named people or titles': 'naming a real or plausible person, show, film, song or channel',
  'quoted speech': 'containing a quoted phrase someone says in the video',
  sounds: 'describing a sound or music where it fits',
};

/** The reserved strings as the writer prompt names them: the validator's list, so the prompt cannot fall behind it. */
const reservedList = RESERVED_STRINGS.map((s) => `"${s}"`).join(', ');

export const QUERY_WRITER_SYSTEM_PROMPT = `You write realistic search queries that people type into a video search engine.
Write varied queries: different lengths, vocabulary and subjects; no numbering; no duplicates.
Never use these strings, in any letter case, even inside a word: ${reservedList}.
Reply with only a JSON array of strings, nothing else.`;

export interface QueryWritingRequest {
  readonly target: QueryTarget;
  readonly domain: Domain;
  readonly phrasing: Phrasing;
  readonly count: number;
  /** Which call of the shard this is: named in the request so that batches of one shard differ. */
  readonly batch: number;
}

/** The user turn of a writing call. */
export function queryWritingMessage(request: QueryWritingRequest): string {
  return (
    `Write ${request.count} different video search queries (set ${request.batch + 1}).\n` +
    `Domain: ${request.domain}.\n` +
    `Each query is ${TARGET_GUIDE[request.target]}.\n` +
    `Style: ${PHRASING_GUIDE[request.phrasing]}.`
  );
}

export type WrittenQueries =
  | { readonly ok: true; readonly queries: readonly string[]; readonly rejected: number }
  | { readonly ok: false; readonly message: string };

/** Whitespace collapsed, surrounding spaces removed: how a query is stored. */
export const cleanQuery = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The form duplicates are compared in: case, punctuation and whitespace do not count. */
export const normalisedQuery = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** Why a written query cannot be used, or undefined when it can. Reserved strings: the dataset validator's own rule. */
export function queryProblem(query: string): string | undefined {
  if (query === '') return 'empty';
  if (query.length > MAX_QUERY_LENGTH) return `longer than ${MAX_QUERY_LENGTH} characters`;
  const reserved = reservedStringIn(query);
  if (reserved) return `contains the reserved string "${reserved}"`;
  return undefined;
}

/** The queries in a writing reply: the first JSON array of strings in the text; unusable entries are counted. */
export function parseWrittenQueries(reply: string): WrittenQueries {
  for (let start = reply.indexOf('['); start !== -1; start = reply.indexOf('[', start + 1)) {
    for (let end = reply.lastIndexOf(']'); end > start; end = reply.lastIndexOf(']', end - 1)) {
      let value: unknown;
      try {
        value = JSON.parse(reply.slice(start, end + 1));
      } catch {
        continue;
      }
      if (!Array.isArray(value)) continue;
      const queries: string[] = [];
      let rejected = 0;
      for (const item of value) {
        const query = typeof item === 'string' ? cleanQuery(item) : '';
        if (queryProblem(query) === undefined) queries.push(query);
        else rejected++;
      }
      return { ok: true, queries, rejected };
    }
  }
  return { ok: false, message: 'the reply holds no JSON array' };
}
