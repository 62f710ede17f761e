import {
  calibrationKey,
  calibrationRow,
  chooseLabelBatchSize,
  MIN_CALIBRATION_QUERIES,
  weightError,
  type CalibrationRow,
} from '../../lambda/pipeline/generation/calibration';
import { CALIBRATION_QUERIES, calibrationQueries } from '../../lambda/pipeline/generation/calibration-queries';
import { reservedStringIn } from '../../lambda/core/dataset-validator';
import type { Weights } from '../../lambda/core/modality';
import { QUERY_TARGETS } from '../../lambda/pipeline/generation/query-plan';
import { MAX_QUERY_LENGTH, normalisedQuery } from '../../lambda/pipeline/generation/query-writing';

const THRESHOLDS = { minAgreement: 0.95, maxWeightError: 0.03 };

const row = (size: number, agreement: number, meanAbsoluteError: number | null, extra: Partial<CalibrationRow> = {}) =>
  ({
    size,
    queries: 100,
    calls: size === 1 ? 100 : Math.ceil(100 / size),
    answered: 100,
    reasked: { missing: 0, duplicate: 0, unparsable: 0 },
    agreement,
    meanAbsoluteError,
    inputTokensPerQuery: size === 1 ? 340 : 30,
    outputTokensPerQuery: 30,
    ...extra,
  }) satisfies CalibrationRow;

const reference = row(1, 1, 0);

describe('chooseLabelBatchSize', () => {
  it('picks the largest size when it passes', () => {
    const choice = chooseLabelBatchSize(
      [reference, row(5, 1, 0), row(10, 0.99, 0.01), row(20, 0.96, 0.025)],
      THRESHOLDS,
    );
    expect(choice.labelBatchSize).toBe(20);
    expect(choice.reason).toMatch(/^20 is the largest batch size with agreement ≥ 0.95 and mean weight error ≤ 0.03/);
  });

  it('picks a middle size when only that one passes (the largest fails on agreement, the smallest on error)', () => {
    const choice = chooseLabelBatchSize(
      [reference, row(5, 0.99, 0.04), row(10, 0.97, 0.02), row(20, 0.9, 0.02)],
      THRESHOLDS,
    );
    expect(choice.labelBatchSize).toBe(10);
  });

  it('falls back to one query per call when no size passes, saying why for each', () => {
    const choice = chooseLabelBatchSize(
      [reference, row(5, 0.94, 0.01), row(10, 0.96, 0.031), row(20, 0.5, 0.2)],
      THRESHOLDS,
    );
    expect(choice.labelBatchSize).toBe(1);
    expect(choice.reason).toMatch(/^no batch size met .*: one query per call$/);
    expect(choice.reason).toContain('5: agreement 0.94, error 0.01');
    expect(choice.reason).toContain('10: agreement 0.96, error 0.031');
  });

  it('lets a size pass exactly at the thresholds', () => {
    expect(chooseLabelBatchSize([reference, row(5, 0.95, 0.03)], THRESHOLDS).labelBatchSize).toBe(5);
  });

  it('never picks a size whose batches left items unanswered beyond the agreement allowance', () => {
    // Size 20: 10 of 100 items missing or invalid count as disagreements (agreement 0.9) though the answered ones
    // all agree; size 10 answered nearly all.
    const reference100 = Array.from({ length: 100 }, (): Weights => ({
      visual: 0.7,
      audio: 0.1,
      transcription: 0.1,
      metadata: 0.1,
    }));
    const measured = (size: number, unanswered: number) =>
      calibrationRow(reference100, {
        size,
        batchLabels: reference100.map((w, i) => (i < unanswered ? undefined : w)),
        labelled: 100,
        reasked: { missing: unanswered - 2, duplicate: 1, unparsable: 1 },
        calls: 100 / size + unanswered,
        inputTokens: 5000,
        outputTokens: 3000,
      });
    const table = [reference, measured(10, 2), measured(20, 10)];
    expect(table[2]).toMatchObject({ agreement: 0.9, meanAbsoluteError: 0, answered: 90 });
    expect(chooseLabelBatchSize(table, THRESHOLDS).labelBatchSize).toBe(10);
  });

  it('never picks a size measured on too few reference queries, or that answered nothing', () => {
    const choice = chooseLabelBatchSize(
      [reference, row(5, 1, 0, { queries: MIN_CALIBRATION_QUERIES - 1 }), row(10, 1, null, { answered: 0 })],
      THRESHOLDS,
    );
    expect(choice.labelBatchSize).toBe(1);
    expect(choice.reason).toContain(`5: only ${MIN_CALIBRATION_QUERIES - 1} reference queries`);
    expect(choice.reason).toContain('10: agreement 1, error none answered');
  });

  it('chooses 1 for an empty table (nothing measured)', () => {
    expect(chooseLabelBatchSize([], THRESHOLDS).labelBatchSize).toBe(1);
  });
});

describe('calibrationRow', () => {
  const w = (visual: number, audio: number, transcription: number, metadata: number): Weights => ({
    visual,
    audio,
    transcription,
    metadata,
  });

  it('measures agreement on every reference query (unanswered = disagreeing), the error on the answered ones', () => {
    const ref = [w(0.7, 0.1, 0.1, 0.1), w(0.1, 0.7, 0.1, 0.1), w(0.1, 0.1, 0.7, 0.1), undefined];
    const got = [w(0.6, 0.2, 0.1, 0.1), w(0.6, 0.2, 0.1, 0.1), undefined, w(1, 0, 0, 0)];
    const measured = calibrationRow(ref, {
      size: 5,
      batchLabels: got,
      labelled: 4,
      reasked: { missing: 1, duplicate: 0, unparsable: 0 },
      calls: 2,
      inputTokens: 400,
      outputTokens: 130,
    });
    // 3 reference queries (the 4th has none); 1 agrees (visual), 1 disagrees, 1 unanswered.
    expect(measured).toEqual({
      size: 5,
      queries: 3,
      calls: 2,
      answered: 2,
      reasked: { missing: 1, duplicate: 0, unparsable: 0 },
      agreement: 0.3333,
      // (0.05 + 0.25) / 2: a 0.1 step on two weights, and 0.5 moved from audio to visual.
      meanAbsoluteError: 0.15,
      inputTokensPerQuery: 100,
      outputTokensPerQuery: 32.5,
    });
  });

  it('gives no error when nothing was answered', () => {
    const measured = calibrationRow([w(1, 0, 0, 0)], {
      size: 5,
      batchLabels: [undefined],
      labelled: 0,
      reasked: { missing: 1, duplicate: 0, unparsable: 0 },
      calls: 1,
      inputTokens: 10,
      outputTokens: 0,
    });
    expect(measured).toMatchObject({ agreement: 0, meanAbsoluteError: null, inputTokensPerQuery: 0 });
  });

  it('averages the absolute weight differences over the four modalities', () => {
    expect(weightError(w(0.7, 0.1, 0.1, 0.1), w(0.6, 0.2, 0.1, 0.1))).toBeCloseTo(0.05, 10);
  });
});

describe('the calibration set', () => {
  const all = calibrationQueries();

  it('has 100 queries, 20 per query target, in target order', () => {
    expect(all).toHaveLength(100);
    for (const target of QUERY_TARGETS) expect(CALIBRATION_QUERIES[target]).toHaveLength(20);
    expect(all.slice(0, 20)).toEqual(CALIBRATION_QUERIES.visual);
    expect(all.slice(80)).toEqual(CALIBRATION_QUERIES.mixed);
  });

  it('holds distinct, usable queries with none of the strings Nova reserves', () => {
    expect(new Set(all.map(normalisedQuery)).size).toBe(100);
    for (const query of all) {
      expect({ query, reserved: reservedStringIn(query) }).toEqual({ query, reserved: undefined });
      expect(query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
      expect(query.trim()).toBe(query);
    }
  });

  it('is stored once per run under the run prefix', () => {
    expect(calibrationKey('run-7')).toBe('runs/run-7/calibration.json');
  });
});
