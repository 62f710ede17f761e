import { addCounts, placeholderCounts, type RedactionCounts } from '../../core/redaction';
import { parseRecordLabel, type ConversationRecord } from '../../core/dataset-record';
import { HELD_OUT_LIMITS, validateDataset } from '../../core/dataset-validator';
import { modalityRecord } from '../../core/modality';
import { costUsd, priceFor, type TokenPrice } from '../../core/prices';
import { PROMPT_VERSIONS } from '../../core/prompts';
import { runKeys } from '../../core/runs';
import { BALANCE_TOLERANCE_POINTS, TARGET_SHARE } from './balance';
import type { CalibrationRecord } from './calibration';
import {
  countSet,
  fileInfo,
  labellingFields,
  MANIFEST_VERSION,
  type DatasetManifest,
  type IncumbentExclusion,
  type SourceCounts,
} from './dataset-manifest';
import {
  byOrder,
  drop,
  InvalidDataset,
  selectCandidates,
  splitSets,
  type Candidate,
  type Candidates,
  type Drops,
  type ProductionRecord,
  type Sets,
} from './dataset-split';
import { QUERY_WRITER_PROMPT_VERSION } from './query-writing';
import type { ShardExample, ShardSummary } from './shard-generation';
import { trainingFiles, type TrainingExample, type TrainingFile } from './training-files';

/**
 * The Assemble stage's pure logic: from the shards to the training file, the held-out test file and the manifest.
 * Duplicates go first (exact, then case/punctuation/whitespace), then records the validator rejects; the rest is
 * rebalanced on the teacher's own labels (dominant modality 25 % each, ±2 points of the training set) and split into a
 * held-out test set, as even over the modalities as the training set's band allows (splitCounts), that shares no
 * (normalised) query with the training file. The
 * balance rule is balance.ts, the choice of records dataset-split.ts, the manifest's parts dataset-manifest.ts.
 */

export interface AssemblyShard {
  readonly index: number;
  /** Planned queries of the shard (from the plan). */
  readonly planned: number;
  /** Undefined when the shard's file is missing (its Map iteration failed). */
  readonly content?: { readonly summary: ShardSummary; readonly examples: readonly ShardExample[] };
}

export interface AssemblyInput {
  readonly runId: string;
  readonly shards: readonly AssemblyShard[];
  readonly targetRecords: number;
  readonly plannedQueries: number;
  readonly exampleCount: number;
  readonly testExampleCount: number;
  readonly minGenerationSuccessRate: number;
  readonly teacherModelId: string;
  readonly priceTable: Readonly<Record<string, TokenPrice>>;
  readonly includeReasoning: boolean;
  readonly keys: {
    /** The training file's key when no `trainFor` is given (one prompt version only). */
    readonly train: string;
    /** The key of each prompt version's training file (runKeys(runId).trainFor). */
    readonly trainFor?: (promptVersion: string) => string;
    readonly test: string;
    readonly manifest: string;
    /** Production's held-out slice (productionTestKey), written when the run learns from production. */
    readonly productionTest?: string;
  };
  /** The run's stored production selection (production-selection.ts), when it learns from production. */
  readonly production?: ProductionInput;
  readonly now?: () => Date;
  /** The run's labelling calibration (calibration.json), when it has one: recorded in the manifest. */
  readonly calibration?: CalibrationRecord;
  /** The incumbent's training queries (when the run has an incumbent): kept out of both held-out draws. */
  readonly incumbent?: IncumbentTraining;
  /**
   * The prompt versions the run's candidates train with, first the one `trainKey` names: one training file each
   * (default: the current student prompt version alone).
   */
  readonly trainingPromptVersions?: readonly string[];
}

/** The incumbent's training set as Assemble read it (its run's dataset), normalised like deduplication. */
export interface IncumbentTraining {
  readonly runId: string;
  /** normalisedQuery of every training record's query (empty when the file could not be read: see `note`). */
  readonly queries: ReadonlySet<string>;
  /** The training file the queries were read from. */
  readonly trainKey?: string;
  readonly note?: string;
}

/** A run's production records as Plan selected them: deduplicated, validated, the held-out slice marked. */
export interface ProductionInput {
  readonly records: readonly ProductionRecord[];
  readonly since: string;
  readonly until: string;
  readonly selectionKey: string;
  /** Lines read, lines refused by the validator, and normalised duplicates among them (from the selection). */
  readonly considered: number;
  readonly invalid: number;
  readonly duplicates: number;
}

/** `runs/<runId>/dataset/test-production.jsonl`: production's own held-out slice, in the live mix of modalities. */
export const productionTestKey = (runId: string) => runKeys(runId).productionTest;

/** Thrown when too few planned queries were labelled: the run stops with the numbers and the keys to change. */
export class GenerationBelowMinimum extends Error {
  override readonly name = 'GenerationBelowMinimum';
}

export interface AssembledDataset {
  /** The first training file's text (`trainingFiles[0]`). */
  readonly trainText: string;
  /** One training file per prompt version, in the order of `trainingPromptVersions`. */
  readonly trainingFiles: readonly TrainingFile[];
  readonly testText: string;
  /** Production's held-out slice (undefined when the run has none). */
  readonly productionTestText?: string;
  readonly manifest: DatasetManifest;
  readonly train: readonly ConversationRecord[];
  readonly test: readonly ConversationRecord[];
}

const toJsonl = (records: readonly ConversationRecord[]): string =>
  records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');

/** What the shards gave, in shard order: their examples, and the teacher's calls, tokens and retries summed. */
interface ShardTotals {
  readonly examples: readonly ShardExample[];
  readonly missingShards: readonly number[];
  readonly calls: { readonly writing: number; readonly labelling: number };
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly retries: number;
  readonly writerRejected: number;
}

/** Step 1: the shards in index order; a missing shard drops all its planned queries as `shardFailed`. */
function collectShards(shards: readonly AssemblyShard[], drops: Drops): ShardTotals {
  const calls = { writing: 0, labelling: 0 };
  const usage = { inputTokens: 0, outputTokens: 0 };
  let retries = 0;
  let writerRejected = 0;
  const missingShards: number[] = [];
  const examples: ShardExample[] = [];
  for (const shard of [...shards].sort((a, b) => a.index - b.index)) {
    if (!shard.content) {
      missingShards.push(shard.index);
      drop(drops, 'shardFailed', shard.planned);
      continue;
    }
    const { summary } = shard.content;
    for (const [reason, n] of Object.entries(summary.dropped)) drop(drops, reason, n);
    calls.writing += summary.teacherCalls.writing;
    calls.labelling += summary.teacherCalls.labelling;
    usage.inputTokens += summary.usage.inputTokens;
    usage.outputTokens += summary.usage.outputTokens;
    retries += summary.retries;
    writerRejected += summary.writerRejected;
    examples.push(...shard.content.examples);
  }
  return { examples, missingShards, calls, usage, retries, writerRejected };
}

interface DatasetTexts {
  readonly trainText: string;
  readonly trainingFiles: readonly TrainingFile[];
  readonly testText: string;
  /** Production's held-out slice (undefined when the run has none). */
  readonly productionTestText?: string;
}

/** A candidate's query, the teacher's weights and the reasoning its record carries (when the run keeps reasoning). */
function trainingExample(c: Candidate): TrainingExample {
  const label = parseRecordLabel(c.record);
  const reasoning = label.ok ? label.reasoning : undefined;
  return { query: c.query, weights: c.weights, ...(reasoning ? { reasoning } : {}) };
}

/**
 * Step 4: the JSONL files, each checked against the dataset validator (a break is a bug: InvalidDataset): one training
 * file per prompt version (the same records, each version's system prompt and label format), the held-out files in
 * the current student format.
 */
function datasetTexts(input: AssemblyInput, sets: Sets, productionHeldOut: readonly Candidate[]): DatasetTexts {
  const files = trainingFiles(
    sets.train.map(trainingExample),
    input.trainingPromptVersions ?? [PROMPT_VERSIONS.student],
    input.keys.trainFor ?? (() => input.keys.train),
  );
  const trainText = files[0]?.text ?? '';
  const testText = toJsonl(sets.test.map((c) => c.record));
  const productionTestText = productionHeldOut.length > 0 ? toJsonl(productionHeldOut.map((c) => c.record)) : undefined;
  for (const [name, text, limits] of [
    ['test', testText, HELD_OUT_LIMITS],
    ...(productionTestText === undefined ? [] : [['test-production', productionTestText, HELD_OUT_LIMITS] as const]),
  ] as const) {
    const validation = validateDataset(text, limits);
    if (!validation.ok) {
      const where = validation.line === undefined ? '' : ` line ${validation.line}`;
      throw new InvalidDataset(
        `the ${name} file breaks the dataset validator at${where}: ${validation.rule}: ${validation.message}`,
      );
    }
  }
  return {
    trainText,
    trainingFiles: files,
    testText,
    ...(productionTestText === undefined ? {} : { productionTestText }),
  };
}

/** Everything the manifest is made of: the input and what each step gave. */
interface ManifestParts {
  readonly input: AssemblyInput;
  readonly totals: ShardTotals;
  readonly drops: Drops;
  readonly labelled: number;
  readonly successRate: number;
  readonly candidates: Candidates;
  readonly sets: Sets;
  readonly texts: DatasetTexts;
}

/** Step 5: the manifest. */
function buildManifest(parts: ManifestParts): DatasetManifest {
  const { input, totals, candidates, sets, texts } = parts;
  const { train, test } = sets;
  const { productionHeldOut } = candidates;
  const price = priceFor(input.teacherModelId, input.priceTable);
  const { calls, usage } = totals;
  return {
    manifestVersion: MANIFEST_VERSION,
    runId: input.runId,
    createdAt: (input.now?.() ?? new Date()).toISOString(),
    teacherModelId: input.teacherModelId,
    includeReasoning: input.includeReasoning,
    // Every prompt a shard used (the batch prompt when it labelled in batches), then the ones this assembly writes in.
    promptVersions: {
      ...Object.assign({}, ...input.shards.map((s) => s.content?.summary.promptVersions ?? {})),
      ...PROMPT_VERSIONS,
      queryWriter: QUERY_WRITER_PROMPT_VERSION,
    },
    plan: {
      targetRecords: input.targetRecords,
      plannedQueries: input.plannedQueries,
      shards: input.shards.length,
      shardsWritten: input.shards.length - totals.missingShards.length,
      missingShards: totals.missingShards,
    },
    generation: {
      planned: input.plannedQueries,
      labelled: parts.labelled,
      successRate: Number(parts.successRate.toFixed(4)),
      minGenerationSuccessRate: input.minGenerationSuccessRate,
      writerRejected: totals.writerRejected,
    },
    droppedByReason: parts.drops,
    duplicates: candidates.duplicates,
    unused: candidates.candidates.length - train.length - test.length,
    balance: {
      targetShare: TARGET_SHARE,
      tolerancePoints: BALANCE_TOLERANCE_POINTS,
      exampleCount: input.exampleCount,
      testExampleCount: input.testExampleCount,
      shortfall: input.exampleCount - train.length,
    },
    counts: { train: countSet(train.map((c) => c.weights)), test: countSet(test.map((c) => c.weights)) },
    labelledByModality: modalityRecord((_, i) => sets.byModality[i]?.length ?? 0),
    sources: sourcesOf(parts),
    ...(input.incumbent ? { incumbentExclusion: exclusionOf(input.incumbent, candidates) } : {}),
    ...labellingFields(
      input.calibration,
      input.shards.flatMap((s) => (s.content ? [s.content.summary] : [])),
    ),
    teacher: {
      calls: { ...calls, total: calls.writing + calls.labelling },
      ...usage,
      retries: totals.retries,
      ...(price ? { price, estimatedCostUsd: Number(costUsd(usage, price).toFixed(6)) } : {}),
    },
    files: {
      train: fileInfo(texts.trainingFiles[0]?.key ?? input.keys.train, texts.trainText, train.length),
      training: texts.trainingFiles.map((f) => ({
        promptVersion: f.promptVersion,
        ...fileInfo(f.key, f.text, f.records),
      })),
      test: fileInfo(input.keys.test, texts.testText, test.length),
      ...(texts.productionTestText === undefined
        ? {}
        : {
            productionTest: fileInfo(
              input.keys.productionTest ?? productionTestKey(input.runId),
              texts.productionTestText,
              productionHeldOut.length,
            ),
          }),
    },
  };
}

/** The manifest's `incumbentExclusion`: how many records each held-out draw left out because the incumbent trained on them. */
function exclusionOf(incumbent: IncumbentTraining, candidates: Candidates): IncumbentExclusion {
  return {
    runId: incumbent.runId,
    trainingQueries: incumbent.queries.size,
    ...(incumbent.trainKey ? { trainingFile: incumbent.trainKey } : {}),
    excludedFromTest: candidates.candidates.filter((c) => c.incumbentTrained).length,
    excludedFromProductionHeldOut: candidates.productionHeldOutExcluded,
    ...(incumbent.note ? { note: incumbent.note } : {}),
  };
}

/** The manifest's `sources`: where the records of each set came from, per source. */
function sourcesOf({
  input,
  drops,
  labelled,
  candidates,
  sets,
}: ManifestParts): NonNullable<DatasetManifest['sources']> {
  const { train, test } = sets;
  const { productionHeldOut, duplicates, productionCounts } = candidates;
  const count = (list: readonly Candidate[], source: Candidate['source']) =>
    list.filter((c) => c.source === source).length;
  const synthetic: SourceCounts = {
    train: count(train, 'synthetic'),
    test: count(test, 'synthetic'),
    considered: labelled,
    duplicates: duplicates.exact + duplicates.normalised,
    invalid: Object.entries(drops)
      .filter(([reason]) => reason.startsWith('invalid:'))
      .reduce((n, [, v]) => n + v, 0),
    unused: count(candidates.candidates, 'synthetic') - count(train, 'synthetic') - count(test, 'synthetic'),
  };
  const p = input.production;
  if (!p) return { synthetic };
  return {
    synthetic,
    production: {
      train: count(train, 'production'),
      test: count(test, 'production') + productionHeldOut.length,
      heldOutSlice: productionHeldOut.length,
      considered: p.considered,
      duplicates: p.duplicates + productionCounts.duplicates,
      invalid: p.invalid + productionCounts.invalid,
      unused: count(candidates.candidates, 'production') - count(train, 'production') - count(test, 'production'),
      since: p.since,
      until: p.until,
      selectionKey: p.selectionKey,
      redacted: redactedIn([...train, ...test, ...productionHeldOut].filter((c) => c.source === 'production')),
    },
  };
}

/** The placeholders the shadow labeller's redaction left in these production queries, by PII type. */
function redactedIn(production: readonly Candidate[]): RedactionCounts {
  const counts: RedactionCounts = {};
  for (const c of production) addCounts(counts, placeholderCounts(c.query));
  return counts;
}

/**
 * Builds the run's train/test files and manifest from its shards, in five steps: collect the shards, select the
 * distinct valid candidates, split them into balanced sets, write and validate the files, describe them in the
 * manifest. Pure; throws GenerationBelowMinimum, TooFewBalancedRecords or InvalidDataset.
 */
export function assembleDataset(input: AssemblyInput): AssembledDataset {
  const drops: Drops = {};
  const totals = collectShards(input.shards, drops);
  const labelled = totals.examples.length;
  // Nothing planned: production covered every quota, so there is no generation to fall short.
  const successRate = input.plannedQueries === 0 ? 1 : labelled / input.plannedQueries;
  const candidates = selectCandidates(
    { ...input, ...(input.incumbent ? { incumbentTraining: input.incumbent.queries } : {}) },
    totals.examples,
    drops,
  );
  // Checked once the split is known: a run whose quotas still fill goes on (a small synthetic top-up that loses a few
  // queries must not fail a run from production), one that would come out short stops here with the cause.
  const belowMinimum = (): GenerationBelowMinimum | undefined =>
    successRate < input.minGenerationSuccessRate
      ? new GenerationBelowMinimum(
          `only ${labelled} of ${input.plannedQueries} planned queries were labelled ` +
            `(${(successRate * 100).toFixed(1)} %), below minGenerationSuccessRate ${input.minGenerationSuccessRate}, ` +
            `and the dataset would fall short of exampleCount ${input.exampleCount} + testExampleCount ` +
            `${input.testExampleCount}; ${totals.missingShards.length} of ${input.shards.length} shards failed ` +
            `(maxShardFailurePercent tolerates them) and ${JSON.stringify(drops)} were dropped. Check the ` +
            "teacher's quota and the shard logs, or lower minGenerationSuccessRate.",
        )
      : undefined;
  const sets = splitSets(input, candidates, belowMinimum);
  candidates.productionHeldOut.sort(byOrder);
  const texts = datasetTexts(input, sets, candidates.productionHeldOut);
  const manifest = buildManifest({ input, totals, drops, labelled, successRate, candidates, sets, texts });
  return {
    ...texts,
    manifest,
    train: sets.train.map((c) => c.record),
    test: sets.test.map((c) => c.record),
  };
}
