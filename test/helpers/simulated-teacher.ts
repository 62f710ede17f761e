import type { ConverseCommandInput, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import type { AssemblyShard } from '../../lambda/pipeline/generation/assembly';
import { teacherBatchPrompt } from '../../lambda/core/batch-labelling';
import { isModality, MODALITIES, type Modality, type Weights } from '../../lambda/core/modality';
import { LABEL_LOSS_ONE_IN, type ShardSpec } from '../../lambda/pipeline/generation/query-plan';
import { QUERY_WRITER_SYSTEM_PROMPT } from '../../lambda/pipeline/generation/query-writing';
import type { ShardExample, ShardSummary } from '../../lambda/pipeline/generation/shard-generation';
import { converseReply, requestTexts } from './aws-mocks';
import { studentFormatOfPrompt, type StudentFormat } from '../../lambda/core/student-format';
import { TEACHER_PROMPT_VERSION } from '../../lambda/core/teacher-prompt';

/**
 * A deterministic stand-in for the teacher, answering Converse requests in the real output shape: writing requests
 * get a JSON array of distinct queries that carry their target in a keyword; labelling requests get weights whose
 * dominant modality follows that keyword (a "mix" query gets mixed weights); batch labelling requests (the batch
 * prompt) get `{"labels":[{id, …weights}]}` with the same weights per query, some items made malformed on request.
 * Used by the handler tests, the local state machine run and the generation benchmark.
 */

const KEYWORDS: Record<string, string> = {
  SEEN: 'scene',
  SOUND: 'sound',
  SAID: 'dialogue',
  FACTS: 'title',
  'two or more': 'mix',
};
const DOMINANT_OF: Record<string, Modality> = {
  scene: 'visual',
  sound: 'audio',
  dialogue: 'transcription',
  title: 'metadata',
};

/** How a batch reply may get one item wrong: leave it out, give it twice, or give weights that break the contract. */
export type BatchItemFault = 'missing' | 'duplicate' | 'unparsable';

export interface SimulatedTeacherOptions {
  /** Answer this label request with prose instead of JSON (attempt counts from 1 per query). */
  readonly badLabel?: (query: string, attempt: number) => boolean;
  /** Every n-th written query repeats the previous one with other case and punctuation (a normalised duplicate). */
  readonly duplicateEvery?: number;
  /** Makes the item of `query` (asked under `id`) in a batch reply malformed. */
  readonly batchItemFault?: (query: string, id: number) => BatchItemFault | undefined;
  /** Weights of a batch item, overriding the single-query ones (a teacher that labels differently in batches). */
  readonly batchWeights?: (query: string, single: Weights, batchSize: number) => Weights;
}

/** A fault for `rate` of the batch items, the kind picked at random among `kinds`; seeded, so runs replay. */
export function faultsAtRate(
  rate: number,
  seed = 1,
  kinds: readonly BatchItemFault[] = ['missing', 'duplicate', 'unparsable'],
): (query: string, id: number) => BatchItemFault | undefined {
  const random = seededRandom(seed);
  return () => (random() < rate ? kinds[Math.floor(random() * kinds.length)] : undefined);
}

/** Tokens of a text as the simulation counts them (the teacher prompt, 1,417 characters, is ~330 tokens). */
const CHARS_PER_TOKEN = 4.3;
/** Output tokens of one batch item ({"id":…, four weights}): a single label's 28 plus its id. */
const BATCH_ITEM_TOKENS = 31;

export class SimulatedTeacher {
  readonly calls = { writing: 0, labelling: 0, batches: 0 };
  /** Queries asked in batch requests (each batch item counted once). */
  batchItems = 0;
  private written = 0;
  private readonly attempts = new Map<string, number>();
  private readonly batchPrompts = [teacherBatchPrompt(false), teacherBatchPrompt(true)];

  constructor(private readonly options: SimulatedTeacherOptions = {}) {}

  reply(input: ConverseCommandInput): ConverseCommandOutput {
    const { system, user } = requestTexts(input);
    if (system === QUERY_WRITER_SYSTEM_PROMPT) return this.write(user);
    if (this.batchPrompts.includes(system)) return this.labelBatch(system, user);
    // A student (or the teacher in a distillation job) asked with a student prompt answers in that prompt's format.
    // The teacher's own prompt is a prompt version a student may be asked with too: it is still a label request.
    const student = studentFormatOfPrompt(system);
    return student && student.promptVersion !== TEACHER_PROMPT_VERSION
      ? this.answerAs(student, user)
      : this.label(user);
  }

  private answerAs(format: StudentFormat, query: string): ConverseCommandOutput {
    this.calls.labelling++;
    const text = format.render(this.weightsOf(query));
    // Input tokens grow with the prompt, as Bedrock counts them: a shorter student prompt costs less per query, which
    // decides between candidates of equal quality (else their wall-clock latency would, differently on every run).
    const inputTokens = Math.ceil((format.prompt.length + query.length) / CHARS_PER_TOKEN);
    return converseReply(text, { inputTokens, outputTokens: format.maxTokens ? 7 : 22 });
  }

  private labelBatch(system: string, message: string): ConverseCommandOutput {
    this.calls.batches++;
    const asked = JSON.parse(message.slice(message.indexOf('['))) as { id: number; query: string }[];
    this.batchItems += asked.length;
    const items: Record<string, number>[] = [];
    for (const { id, query } of asked) {
      const single = this.weightsOf(query);
      const weights = this.options.batchWeights?.(query, single, asked.length) ?? single;
      const fault = this.options.batchItemFault?.(query, id);
      if (fault === 'missing') continue;
      if (fault === 'unparsable') {
        items.push({ id, ...weights, visual: weights.visual + 0.5 });
        continue;
      }
      items.push({ id, ...weights });
      if (fault === 'duplicate') items.push({ id, ...dominantWeights('metadata') });
    }
    return converseReply(JSON.stringify({ labels: items }), {
      inputTokens: Math.ceil((system.length + message.length) / CHARS_PER_TOKEN),
      outputTokens: 4 + BATCH_ITEM_TOKENS * items.length,
    });
  }

  private write(message: string): ConverseCommandOutput {
    this.calls.writing++;
    const count = Number(/Write (\d+) different/.exec(message)?.[1] ?? 10);
    const domain = /Domain: ([^.]+)\./.exec(message)?.[1] ?? 'general';
    const keyword = Object.entries(KEYWORDS).find(([marker]) => message.includes(marker))?.[1] ?? 'scene';
    const queries: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = ++this.written;
      const every = this.options.duplicateEvery;
      const previous = queries.at(-1);
      queries.push(
        every && n % every === 0 && previous ? `${previous.toUpperCase()}!` : `${domain} ${keyword} moment ${n}`,
      );
    }
    return converseReply(JSON.stringify(queries), { inputTokens: 160, outputTokens: 12 * count });
  }

  private label(query: string): ConverseCommandOutput {
    this.calls.labelling++;
    const attempt = (this.attempts.get(query) ?? 0) + 1;
    this.attempts.set(query, attempt);
    if (this.options.badLabel?.(query, attempt)) {
      return converseReply('This query is mostly visual, I would say.', { inputTokens: 330, outputTokens: 11 });
    }
    return converseReply(JSON.stringify(this.weightsOf(query)), { inputTokens: 330, outputTokens: 28 });
  }

  /** The teacher's weights for a query: the same whether it is asked alone or in a batch. */
  private weightsOf(query: string): Weights {
    const n = Number(/(\d+)\s*!?$/.exec(query)?.[1] ?? 0);
    const keyword = Object.values(KEYWORDS).find((k) => query.toLowerCase().includes(k)) ?? 'scene';
    // A "mix" query's leading modality rotates so mixed queries spread over all four.
    return keyword === 'mix'
      ? mixedWeights(MODALITIES[n % MODALITIES.length] as Modality)
      : dominantWeights(DOMINANT_OF[keyword] as Modality);
  }
}

/** Weights with one clear winner (0.7). */
export const dominantWeights = (dominant: Modality): Weights =>
  Object.fromEntries(MODALITIES.map((m) => [m, m === dominant ? 0.7 : 0.1])) as Record<Modality, number>;

/** Mixed weights: no modality reaches 0.5; `lead` is the largest (the dominant one by argmax). */
export const mixedWeights = (lead: Modality): Weights =>
  Object.fromEntries(MODALITIES.map((m) => [m, m === lead ? 0.4 : 0.2])) as Record<Modality, number>;

/** mulberry32: a small seedable generator, so that a failing property run replays from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What happens to a query the teacher does not label as the modality it was written for. */
export type OffFate = 'dropped' | 'duplicate' | 'other' | 'mixed';

/**
 * How a simulated teacher labels a whole plan, within or beyond the plan's allowance (LABEL_LOSS_ONE_IN): per
 * modality, `offShare` of the allowance (1 = all of it, above 1 = beyond it) of the queries written for it end "off".
 */
export interface LabelBehaviour {
  readonly seed: number;
  readonly offShare: Readonly<Record<Modality, number>>;
  /** The fates off queries may take (picked at random among them). */
  readonly offFates: readonly OffFate[];
  /** Where an "other" label goes: one modality (the next one when that is the query's own), or spread at random. */
  readonly otherTo: Modality | 'spread';
  /** Queries written for "mixed": their leading modality spread at random, all one modality, or every one lost. */
  readonly mixed: Modality | 'spread' | 'lost';
}

/**
 * The shard files a run's plan would produce under a simulated teacher: pure and deterministic for a seed, fast enough
 * for property tests over whole runs (no Converse round trip). Every query text is distinct unless made a duplicate.
 */
export function simulatedShards(shards: readonly ShardSpec[], behaviour: LabelBehaviour): AssemblyShard[] {
  const random = seededRandom(behaviour.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Off queries per modality: a share of the allowance, chosen at random positions (selection sampling).
  const totals = new Map<string, number>();
  for (const s of shards) totals.set(s.target, (totals.get(s.target) ?? 0) + s.count);
  const left = new Map<string, { off: number; seen: number; total: number }>();
  for (const m of MODALITIES) {
    const total = totals.get(m) ?? 0;
    const off = Math.min(total, Math.floor(behaviour.offShare[m] * Math.ceil(total / LABEL_LOSS_ONE_IN)));
    left.set(m, { off, seen: 0, total });
  }
  let n = 0;
  return shards.map((spec): AssemblyShard => {
    const examples: ShardExample[] = [];
    let dropped = 0;
    for (let i = 0; i < spec.count; i++) {
      const query = `${spec.domain} ${spec.phrasing} ${spec.target} moment ${++n}`;
      const label = (weights: Weights) => examples.push({ kind: 'example', query, weights });
      if (!isModality(spec.target)) {
        const mode = behaviour.mixed;
        if (mode === 'lost') dropped++;
        else label(mixedWeights(mode === 'spread' ? pick(MODALITIES) : mode));
        continue;
      }
      const own = spec.target;
      const state = left.get(own) ?? { off: 0, seen: 0, total: 0 };
      const isOff = random() * (state.total - state.seen) < state.off;
      state.seen++;
      if (!isOff) {
        label(dominantWeights(own));
        continue;
      }
      state.off--;
      const fate = pick(behaviour.offFates);
      const previous = examples.at(-1);
      if (fate === 'dropped' || (fate === 'duplicate' && !previous)) dropped++;
      else if (fate === 'duplicate' && previous)
        examples.push({ ...previous, query: `${previous.query.toUpperCase()}!` });
      else if (fate === 'mixed') label(mixedWeights(pick(MODALITIES.filter((m) => m !== own))));
      else {
        const others = MODALITIES.filter((m) => m !== own);
        const to = behaviour.otherTo;
        label(dominantWeights(to === 'spread' ? pick(others) : to === own ? (others[0] as Modality) : to));
      }
    }
    return {
      index: spec.index,
      planned: spec.count,
      content: { summary: summaryOf(spec, examples, dropped), examples },
    };
  });
}

function summaryOf(spec: ShardSpec, examples: readonly ShardExample[], unparseableLabel: number): ShardSummary {
  return {
    kind: 'shard',
    index: spec.index,
    target: spec.target,
    domain: spec.domain,
    phrasing: spec.phrasing,
    teacherModelId: 'us.amazon.nova-pro-v1:0',
    promptVersions: {},
    planned: spec.count,
    written: spec.count,
    labelled: examples.length,
    dropped: { notWritten: 0, unparseableLabel, teacherError: 0 },
    writerRejected: 0,
    writerUnparseable: 0,
    labelRetries: unparseableLabel,
    teacherCalls: { writing: Math.ceil(spec.count / 25), labelling: spec.count + unparseableLabel },
    usage: { inputTokens: 330 * spec.count, outputTokens: 28 * spec.count },
    retries: 0,
    durationMs: 1000,
  };
}
