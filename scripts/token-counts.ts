/**
 * `npm run token-counts [-- --write]`: measures the tokens of the real prompts, queries and answer formats with a BPE
 * tokenizer and prints lambda/pipeline/cost/token-counts.ts, which the cost model reads; `--write` writes it, formatted by
 * prettier with the project's config (so lint passes). test/shared/token-counts.test.ts measures again and fails when
 * a prompt or format changed without this being run.
 *
 * The tokenizer is a stated proxy: no Nova tokenizer is public, so o200k_base (gpt-tokenizer) stands in. Its counts
 * are close to other modern BPE vocabularies on English text and digits; how Nova wraps a call in its chat template
 * is not counted (docs/answer-formats.md).
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { encode } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { batchLabelMessage, LABEL_BATCH_SIZE_CANDIDATES, teacherBatchPrompt } from '../lambda/core/batch-labelling';
import { calibrationQueries } from '../lambda/pipeline/generation/calibration-queries';
import { toRecord } from '../lambda/core/dataset-record';
import { judgeMetricDefinition } from '../lambda/pipeline/evaluation/evaluation';
import { MODALITIES, type Modality, type Weights } from '../lambda/core/modality';
import { teacherPrompt } from '../lambda/core/teacher-prompt';
import { DOMAINS, PHRASINGS } from '../lambda/pipeline/generation/query-plan';
import {
  QUERIES_PER_WRITING_CALL,
  QUERY_WRITER_SYSTEM_PROMPT,
  queryWritingMessage,
} from '../lambda/pipeline/generation/query-writing';
import { STUDENT_FORMATS, STUDENT_PROMPT_VERSIONS } from '../lambda/core/student-format';
import { formatLabel } from '../lambda/core/weights';
import { flagHelp, parseArgs, PROJECT_ROOT, UsageError, type FlagSpecs } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';

export const TOKENIZER = 'o200k_base (gpt-tokenizer 4.0.0)';

const tokens = (text: string) => encode(text).length;
const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;
/** Two decimals: the file stays readable and the figures stable. */
const round = (x: number) => Math.round(x * 100) / 100;

/** Every weight vector of whole tenths summing to 1 (286): the labels the teacher's rules allow. */
export function allTenthsWeights(): Weights[] {
  const out: Weights[] = [];
  for (let a = 0; a <= 10; a++)
    for (let b = 0; a + b <= 10; b++)
      for (let c = 0; a + b + c <= 10; c++) {
        const tenths = [a, b, c, 10 - a - b - c];
        out.push(Object.fromEntries(MODALITIES.map((m, i) => [m, (tenths[i] ?? 0) / 10])) as Record<Modality, number>);
      }
  return out;
}

interface TextFigure {
  readonly tokens: number;
  readonly chars: number;
}
interface AnswerFigure {
  readonly meanTokens: number;
  readonly maxTokens: number;
  readonly meanChars: number;
  readonly maxChars: number;
}

const figure = (text: string): TextFigure => ({ tokens: tokens(text), chars: text.length });
const answers = (texts: readonly string[]): AnswerFigure => ({
  meanTokens: round(mean(texts.map(tokens))),
  maxTokens: Math.max(...texts.map(tokens)),
  meanChars: round(mean(texts.map((t) => t.length))),
  maxChars: Math.max(...texts.map((t) => t.length)),
});

/** What the cost model needs, measured on the real texts. */
export function measureTokenCounts() {
  const labels = allTenthsWeights();
  const queries = calibrationQueries();
  const batches = Object.fromEntries(
    LABEL_BATCH_SIZE_CANDIDATES.map((size) => {
      const chunks: string[][] = [];
      for (let i = 0; i + size <= queries.length; i += size) chunks.push(queries.slice(i, i + size));
      // One reply item: the id the answer carries back plus the weights, as the batch prompt's example writes it.
      const items = labels.map((w, i) => JSON.stringify({ id: (i % size) + 1, ...w }));
      return [
        String(size),
        {
          messageTokensPerQuery: round(mean(chunks.map((c) => tokens(batchLabelMessage(c)) / size))),
          replyItemTokens: round(mean(items.map(tokens))),
          replyEnvelopeTokens: tokens('{"labels":[]}') + (size - 1) * tokens(','),
        },
      ];
    }),
  );
  const writingMessage = queryWritingMessage({
    target: 'visual',
    domain: DOMAINS[0],
    phrasing: PHRASINGS[0],
    count: QUERIES_PER_WRITING_CALL,
    batch: 0,
  });
  const record = (version: (typeof STUDENT_PROMPT_VERSIONS)[number]) =>
    mean(
      queries.map((q, i) => {
        const r = toRecord(q, labels[i % labels.length], undefined, STUDENT_FORMATS[version]);
        const text = [r.system[0]?.text ?? '', ...r.messages.map((m) => m.content[0]?.text ?? '')].join('');
        return text.length / tokens(text);
      }),
    );
  return {
    tokenizer: TOKENIZER,
    prompts: {
      student: Object.fromEntries(STUDENT_PROMPT_VERSIONS.map((v) => [v, figure(STUDENT_FORMATS[v].prompt)])),
      teacher: figure(teacherPrompt(false)),
      teacherWithReasoning: figure(teacherPrompt(true)),
      teacherBatch: figure(teacherBatchPrompt(false)),
      teacherBatchWithReasoning: figure(teacherBatchPrompt(true)),
      judgeInstructions: figure(judgeMetricDefinition().instructions ?? ''),
      queryWriter: figure(QUERY_WRITER_SYSTEM_PROMPT),
      queryWritingMessage: figure(writingMessage),
    },
    /** The calibration set's queries: real video-search queries of every target. */
    queries: {
      count: queries.length,
      meanTokens: round(mean(queries.map(tokens))),
      meanChars: round(mean(queries.map((q) => q.length))),
      /** A query inside a writing reply: JSON-quoted, with its separator. */
      writtenTokens: round(mean(queries.map((q) => tokens(`${JSON.stringify(q)}, `)))),
    },
    /** Over the 286 labels of whole tenths. */
    answers: {
      ...Object.fromEntries(
        STUDENT_PROMPT_VERSIONS.map((v) => [v, answers(labels.map((w) => STUDENT_FORMATS[v].render(w)))]),
      ),
      /** The teacher's own JSON answer (also what the judge reads as reference and reply). */
      teacher: answers(labels.map((w) => formatLabel(w))),
    },
    /** Per candidate batch size: the batch message's tokens per query, one reply item, and the reply's envelope. */
    batches,
    /** Characters per token of a training record's texts (prompt, query, label), by student version. */
    recordCharsPerToken: Object.fromEntries(STUDENT_PROMPT_VERSIONS.map((v) => [v, round(record(v))])),
  };
}

export type MeasuredTokenCounts = ReturnType<typeof measureTokenCounts>;

export const TOKEN_COUNTS_FILE = join(__dirname, '..', 'lambda', 'pipeline', 'cost', 'token-counts.ts');

/** The module the cost model imports: the measured figures as a constant. */
export function tokenCountsModule(counts: MeasuredTokenCounts): string {
  return `/**
 * Token counts measured on the real prompts, queries and answer formats with a BPE tokenizer as a stated proxy (no
 * Nova tokenizer is public): ${counts.tokenizer}. Generated by \`npm run token-counts\` (scripts/token-counts.ts): do not edit;
 * test/shared/token-counts.test.ts measures again and fails when a prompt or format changed without regenerating.
 */
export const TOKEN_COUNTS = ${JSON.stringify(counts, null, 2)} as const;
`;
}

/** The module as the repository keeps it: formatted by prettier with the project's config, as lint checks it. */
export async function formattedTokenCountsModule(counts: MeasuredTokenCounts): Promise<string> {
  // Loaded here: the token-counts test imports this file and needs no formatter.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(TOKEN_COUNTS_FILE)) ?? {};
  return prettier.format(tokenCountsModule(counts), { ...options, filepath: TOKEN_COUNTS_FILE });
}

const TARGET = relative(PROJECT_ROOT, TOKEN_COUNTS_FILE);
const FLAGS = {
  write: { type: 'boolean', help: `write ${TARGET} (formatted by prettier) instead of printing it` },
} as const satisfies FlagSpecs;
const USAGE =
  'Usage: npm run -s token-counts [-- --write]\n' +
  `Measures the tokens of the prompts, queries and answer formats (${TOKENIZER}) and prints ${TARGET};\n` +
  'with --write, writes it. Nothing is written without --write.\n' +
  flagHelp(FLAGS);

async function main(argv: readonly string[]): Promise<number> {
  const { flags, positionals, help } = parseArgs(argv, FLAGS);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the only flag is --write`);
  const text = await formattedTokenCountsModule(measureTokenCounts());
  if (!flags.write) {
    process.stdout.write(text);
    return 0;
  }
  writeFileSync(TOKEN_COUNTS_FILE, text);
  console.log(`wrote ${TARGET}`);
  return 0;
}

if (require.main === module) {
  void runCommand('npm run token-counts', () => main(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}
