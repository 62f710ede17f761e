import {
  toRecord,
  recordParts,
  systemText,
  parseRecordLabel,
  type ConversationRecord,
} from '../../lambda/core/dataset-record';
import { validateDataset } from '../../lambda/core/dataset-validator';
import { LIVE_QUERIES_TAGGING } from '../../lambda/core/production-records';
import { logger } from '../../lambda/core/runtime';
import { runKeys } from '../../lambda/core/runs';
import { STUDENT_FORMATS } from '../../lambda/core/student-format';
import type { Weights } from '../../lambda/core/modality';
import { reuseDataset } from '../../lambda/pipeline/generation/reuse-dataset';
import { reuseRecordKey } from '../../lambda/pipeline/generation/reuse-record';
import { InMemoryS3 } from '../helpers/aws-mocks';

/**
 * Reuse dataset (issue 19: a fair incumbent; issue 20: one training file per prompt version): a run that reuses an
 * earlier run's dataset holds out none of the incumbent's training queries, and trains each candidate's prompt version.
 */

const BUCKET = 'dataset-bucket';
const RUN = 'run-1';
const SOURCE = runKeys('run-0');
const keys = runKeys(RUN);
const LABELS: Weights[] = [
  { visual: 0.7, audio: 0.1, transcription: 0.1, metadata: 0.1 },
  { visual: 0.1, audio: 0.7, transcription: 0.1, metadata: 0.1 },
  { visual: 0.1, audio: 0.1, transcription: 0.7, metadata: 0.1 },
  { visual: 0.1, audio: 0.1, transcription: 0.1, metadata: 0.7 },
];

let s3: InMemoryS3;
beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  s3 = new InMemoryS3();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    DATASET_BUCKET: BUCKET,
    TRAINING_PROMPT_VERSIONS: JSON.stringify(['student-v2']),
  });
});
afterEach(() => s3.restore());

const jsonl = (queries: readonly string[]) =>
  queries.map((q, i) => JSON.stringify(toRecord(q, LABELS[i % 4]))).join('\n') + '\n';
const records = (text: string | undefined): ConversationRecord[] =>
  (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ConversationRecord);
const queriesOf = (text: string | undefined) => records(text).map((r) => recordParts(r).query);

const TRAIN = Array.from({ length: 120 }, (_, i) => `earlier training query ${i}`);
const TEST = Array.from({ length: 10 }, (_, i) => `held out query ${i}`);
/** An earlier run assembled before manifests listed every file: train.jsonl and test.jsonl. */
function storeOldSource() {
  s3.set(BUCKET, SOURCE.train, jsonl(TRAIN));
  s3.set(BUCKET, SOURCE.test, jsonl(TEST));
}

const INCUMBENT = { present: true, runId: 'run-inc', deploymentArn: 'arn:dep', studentPromptVersion: 'student-v2' };
/** The incumbent's training file: three of the reused held-out queries, as users typed them (normalised alike). */
const INCUMBENT_TRAIN = jsonl(
  ['HELD OUT query 1!', 'held out  query 4', 'Held-out query 7?', 'something else'].concat(TRAIN.slice(0, 96)),
);

describe('Reuse dataset with an incumbent (issue 19)', () => {
  it('holds out none of the queries the incumbent trained on: a filtered copy under this run, the count recorded', async () => {
    storeOldSource();
    const incumbentTrain = runKeys('run-inc').trainFor('student-v2');
    s3.set(BUCKET, incumbentTrain, INCUMBENT_TRAIN);
    s3.set(
      BUCKET,
      runKeys('run-inc').manifest,
      JSON.stringify({ files: { train: { key: incumbentTrain, records: 100 }, test: { key: 'x', records: 1 } } }),
    );
    const result = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT });

    expect(result).toMatchObject({
      trainKey: SOURCE.train,
      trainKeys: { 'student-v2': SOURCE.train },
      testKey: keys.test,
      testCount: 7,
      manifestKey: SOURCE.manifest,
      reusedFromRun: 'run-0',
      incumbentExclusion: {
        runId: 'run-inc',
        trainingFile: incumbentTrain,
        trainingQueries: 100,
        excludedFromTest: 3,
        excludedFromProductionHeldOut: 0,
      },
    });
    expect(queriesOf(s3.get(BUCKET, keys.test))).toEqual(TEST.filter((_, i) => ![1, 4, 7].includes(i)));
    expect(validateDataset(s3.get(BUCKET, keys.test) ?? '', { minRecords: 1, maxRecords: 1000 })).toMatchObject({
      ok: true,
    });
    // The earlier run's files are only read.
    expect(queriesOf(s3.get(BUCKET, SOURCE.test))).toEqual(TEST);
    const record = JSON.parse(s3.get(BUCKET, reuseRecordKey(RUN)) ?? '{}');
    expect(record).toMatchObject({
      reusedFromRun: 'run-0',
      trainKey: SOURCE.train,
      heldOut: { test: { key: keys.test, sourceKey: SOURCE.test, records: 7, removedIncumbentTrained: 3 } },
      incumbentExclusion: { excludedFromTest: 3 },
      liveQueryKeys: [],
    });
    // A retry finds the same files and returns the same result.
    expect(await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT })).toEqual(result);
  });

  it('reads the training file of an incumbent that itself reused a dataset, from its reuse record or its report', async () => {
    storeOldSource();
    const reusedTrain = runKeys('run-x').train;
    s3.set(BUCKET, reusedTrain, INCUMBENT_TRAIN);
    // Reused since reuse records exist: reuse.json names the file it trained on.
    s3.set(
      BUCKET,
      reuseRecordKey('run-inc'),
      JSON.stringify({ ...minimalReuseRecord('run-inc'), trainKey: reusedTrain }),
    );
    const viaRecord = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT });
    expect(viaRecord).toMatchObject({
      testCount: 7,
      incumbentExclusion: { trainingFile: reusedTrain, excludedFromTest: 3 },
    });

    // Reused before: only its report names the training file.
    const older = { ...INCUMBENT, runId: 'run-old' };
    s3.set(BUCKET, runKeys('run-old').reportJson, JSON.stringify({ dataset: { trainKey: reusedTrain } }));
    const viaReport = await reuseDataset({ runId: 'run-2', reuseDatasetFromRun: 'run-0', incumbent: older });
    expect(viaReport).toMatchObject({ testKey: runKeys('run-2').test, incumbentExclusion: { excludedFromTest: 3 } });
  });

  it('keeps the earlier run’s held-out file when the incumbent trained on none of it, and says when it found nothing', async () => {
    storeOldSource();
    const result = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT });
    expect(result).toMatchObject({
      testKey: SOURCE.test,
      testCount: 10,
      incumbentExclusion: {
        excludedFromTest: 0,
        note: expect.stringContaining("incumbent's training set was not found"),
      },
    });
    expect(s3.get(BUCKET, keys.test)).toBeUndefined();
    const none = await reuseDataset({ runId: 'run-3', reuseDatasetFromRun: 'run-0', incumbent: { present: false } });
    expect(none).not.toHaveProperty('incumbentExclusion');
    expect(none.testKey).toBe(SOURCE.test);
  });

  it('refuses, naming the runs, when nothing of the held-out set is left', async () => {
    storeOldSource();
    s3.set(BUCKET, runKeys('run-inc').reportJson, JSON.stringify({ dataset: { trainKey: SOURCE.test } }));
    await expect(reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT })).rejects.toThrow(
      /runs\/run-0\/dataset\/test.jsonl without the 10 queries the incumbent \(run run-inc\) trained on .*Reuse the dataset of another run/,
    );
  });
});

describe('Reuse dataset: one training file per prompt version (issue 20)', () => {
  it('writes the versions the earlier run lacks under this run, from its training file, validated', async () => {
    storeOldSource();
    process.env.TRAINING_PROMPT_VERSIONS = JSON.stringify(['student-v1', 'student-v2']);
    const result = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0' });
    const v1 = keys.trainFor('student-v1');
    expect(result).toMatchObject({ trainKey: v1, trainKeys: { 'student-v1': v1, 'student-v2': SOURCE.train } });
    expect(validateDataset(s3.get(BUCKET, v1) ?? '')).toMatchObject({ ok: true, records: 120 });
    const [rendered, reused] = [records(s3.get(BUCKET, v1)), records(s3.get(BUCKET, SOURCE.train))];
    expect(rendered.map((r) => recordParts(r).query)).toEqual(reused.map((r) => recordParts(r).query));
    const weightsOf = (r: ConversationRecord) => {
      const label = parseRecordLabel(r);
      return label.ok ? label.weights : undefined;
    };
    expect(rendered.map(weightsOf)).toEqual(reused.map(weightsOf));
    expect(new Set(rendered.map(systemText))).toEqual(new Set([STUDENT_FORMATS['student-v1'].prompt]));
    expect(JSON.parse(s3.get(BUCKET, reuseRecordKey(RUN)) ?? '{}').trainingFiles).toEqual([
      { promptVersion: 'student-v1', key: v1, records: 120, origin: 'rendered' },
      { promptVersion: 'student-v2', key: SOURCE.train, records: 120, origin: 'reused' },
    ]);
  });

  it('takes every version’s file from a run whose manifest lists them', async () => {
    process.env.TRAINING_PROMPT_VERSIONS = JSON.stringify(['student-v2', 'student-v1']);
    const [v1, v2] = [SOURCE.trainFor('student-v1'), SOURCE.trainFor('student-v2')];
    s3.set(BUCKET, v2, jsonl(TRAIN));
    s3.set(BUCKET, v1, 'not read\n');
    s3.set(BUCKET, SOURCE.test, jsonl(TEST));
    s3.set(BUCKET, SOURCE.manifest, JSON.stringify(manifest({ v1, v2 })));
    const result = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0' });
    expect(result).toMatchObject({
      trainKey: v2,
      trainKeys: { 'student-v2': v2, 'student-v1': v1 },
      liveQueryKeys: [],
    });
    expect(s3.keys(BUCKET).filter((k) => k.startsWith(keys.prefix))).toEqual([reuseRecordKey(RUN)]);
  });
});

describe('Reuse dataset: copies of live queries (issue 19)', () => {
  it('tags what it writes from a dataset that learned from production, and lists the live files', async () => {
    process.env.TRAINING_PROMPT_VERSIONS = JSON.stringify(['student-v1', 'student-v2']);
    const v2 = SOURCE.trainFor('student-v2');
    s3.set(BUCKET, v2, jsonl(TRAIN));
    s3.set(BUCKET, SOURCE.test, jsonl(TEST));
    s3.set(BUCKET, SOURCE.productionTest, jsonl(['live held out 1', 'held out query 1', 'live held out 2']));
    s3.set(
      BUCKET,
      SOURCE.manifest,
      JSON.stringify({
        ...manifest({ v2 }),
        files: {
          ...manifest({ v2 }).files,
          productionTest: { key: SOURCE.productionTest, records: 3 },
        },
        sources: { production: { train: 60, test: 3, heldOutSlice: 3 } },
      }),
    );
    s3.set(BUCKET, runKeys('run-inc').reportJson, JSON.stringify({ dataset: { trainKey: 'runs/run-inc/t.jsonl' } }));
    s3.set(BUCKET, 'runs/run-inc/t.jsonl', jsonl(['held out query 1']));
    const result = await reuseDataset({ runId: RUN, reuseDatasetFromRun: 'run-0', incumbent: INCUMBENT });

    const v1 = keys.trainFor('student-v1');
    expect(result).toMatchObject({
      testKey: keys.test,
      productionTestKey: keys.productionTest,
      productionTestCount: 2,
      incumbentExclusion: { excludedFromTest: 1, excludedFromProductionHeldOut: 1 },
    });
    // Production trained and has its slice; test.jsonl held out none of it.
    expect(result.liveQueryKeys).toEqual([v1, v2, keys.productionTest]);
    expect(s3.tagsOf(BUCKET, v1)).toBe(LIVE_QUERIES_TAGGING);
    expect(s3.tagsOf(BUCKET, keys.productionTest)).toBe(LIVE_QUERIES_TAGGING);
    expect(s3.tagsOf(BUCKET, keys.test)).toBeUndefined();
    expect(s3.tagsOf(BUCKET, reuseRecordKey(RUN))).toBeUndefined();
  });
});

function minimalReuseRecord(runId: string) {
  const file = { key: 'k', records: 1, sourceKey: 'k', removedIncumbentTrained: 0 };
  return {
    recordVersion: 'dataset-reuse-v1',
    runId,
    reusedFromRun: 'run-x',
    trainKey: '',
    trainingFiles: [],
    heldOut: { test: file },
    liveQueryKeys: [],
  };
}

function manifest(train: { v1?: string; v2: string }) {
  return {
    runId: 'run-0',
    promptVersions: { teacher: 'teacher-v1', student: 'student-v2' },
    files: {
      train: { key: train.v2, records: 120 },
      training: [
        { promptVersion: 'student-v2', key: train.v2, records: 120 },
        ...(train.v1 ? [{ promptVersion: 'student-v1', key: train.v1, records: 120 }] : []),
      ],
      test: { key: SOURCE.test, records: 10 },
    },
  };
}
