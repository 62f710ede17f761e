import fc from 'fast-check';
import {
  evaluateGate,
  INCUMBENT_MARGINS,
  type GateInput,
  type GateThresholds,
} from '../../lambda/pipeline/gate/gate-rules';
import { parseConfig } from '../../lib/config';

const thresholds: GateThresholds = {
  minJudgeScore: 4.0,
  maxJudgeGapToBaseline: 0.25,
  minDominantAgreement: 0.85,
  minValidReplyRate: 0.98,
};
const good: GateInput = {
  studentJudgeScore: 4.1,
  baselineJudgeScore: 4.2,
  studentDominantAgreement: 0.9,
  studentValidReplyRate: 1,
};

describe('evaluateGate', () => {
  it('passes when every threshold holds, listing each check with value, threshold and verdict', () => {
    const result = evaluateGate(good, thresholds);
    expect(result.passed).toBe(true);
    expect(result.failed).toEqual([]);
    expect(result.checks.map((c) => [c.name, c.value, c.threshold, c.passed])).toEqual([
      ['minJudgeScore', 4.1, 4, true],
      ['maxJudgeGapToBaseline', 0.1, 0.25, true],
      ['minDominantAgreement', 0.9, 0.85, true],
      ['minValidReplyRate', 1, 0.98, true],
    ]);
  });

  it.each([
    ['minJudgeScore', { studentJudgeScore: 3.9, baselineJudgeScore: 4.0 }],
    ['maxJudgeGapToBaseline', { baselineJudgeScore: 4.5 }],
    ['minDominantAgreement', { studentDominantAgreement: 0.8 }],
    ['minValidReplyRate', { studentValidReplyRate: 0.97 }],
  ] as const)('rejects when %s fails and names it in the summary', (name, change) => {
    const result = evaluateGate({ ...good, ...change }, thresholds);
    expect(result.passed).toBe(false);
    expect(result.failed).toEqual([name]);
    expect(result.summary).toContain(name);
    expect(result.checks.find((c) => c.name === name)?.passed).toBe(false);
  });

  it('treats values exactly at the threshold as passing (float noise aside)', () => {
    const result = evaluateGate(
      { studentJudgeScore: 4.0, baselineJudgeScore: 4.25, studentDominantAgreement: 0.85, studentValidReplyRate: 0.98 },
      thresholds,
    );
    expect(result.passed).toBe(true);
  });

  it('fails a check whose value is not a number', () => {
    const result = evaluateGate({ ...good, studentJudgeScore: Number.NaN }, thresholds);
    expect(result.failed).toContain('minJudgeScore');
  });

  it('lists every failed check', () => {
    const result = evaluateGate(
      { studentJudgeScore: 2, baselineJudgeScore: 4.5, studentDominantAgreement: 0.1, studentValidReplyRate: 0.5 },
      thresholds,
    );
    expect(result.failed).toEqual([
      'minJudgeScore',
      'maxJudgeGapToBaseline',
      'minDominantAgreement',
      'minValidReplyRate',
    ]);
  });
});

describe('evaluateGate against the incumbent', () => {
  it('adds the incumbent checks only when an incumbent is compared, with the default margins', () => {
    expect(evaluateGate(good, thresholds).checks.map((c) => c.name)).not.toContain('maxJudgeDropToIncumbent');
    const result = evaluateGate({ ...good, incumbent: { judgeScore: 4.2, dominantAgreement: 0.92 } }, thresholds);
    expect(result.checks.slice(-2)).toEqual([
      expect.objectContaining({ name: 'maxJudgeDropToIncumbent', value: 0.1, threshold: 0.1, passed: true }),
      expect.objectContaining({ name: 'maxAgreementDropToIncumbent', value: 0.02, threshold: 0.03, passed: true }),
    ]);
    expect(result.passed).toBe(true);
  });

  it('rejects a candidate that passes every baseline threshold but is worse than the incumbent by more than a margin', () => {
    const result = evaluateGate(
      { ...good, incumbent: { judgeScore: 4.3, dominantAgreement: 0.9 } },
      { ...thresholds, maxJudgeDropToIncumbent: 0.15, maxAgreementDropToIncumbent: 0 },
    );
    expect(result.failed).toEqual(['maxJudgeDropToIncumbent']);
    expect(result.summary).toBe('rejected: maxJudgeDropToIncumbent (0.2 > 0.15)');
  });

  it('keeps the config defaults and the gate defaults the same', () => {
    const config = parseConfig({});
    expect({
      maxJudgeDropToIncumbent: config.maxJudgeDropToIncumbent,
      maxAgreementDropToIncumbent: config.maxAgreementDropToIncumbent,
      maxWeightErrorRiseToIncumbent: config.maxWeightErrorRiseToIncumbent,
    }).toEqual(INCUMBENT_MARGINS);
  });
});

describe('evaluateGate against the incumbent, paired on the same held-out queries', () => {
  const incumbent = (candidateOnly: number, otherOnly: number, queries = 50) => ({
    judgeScore: 4.1,
    dominantAgreement: 0.95,
    paired: { queries, candidateOnly, otherOnly, errorDrops: Array.from({ length: queries }, () => 0) },
  });

  it('not worse: identical answers pass, and the statistics are reported', () => {
    const result = evaluateGate({ ...good, incumbent: incumbent(0, 0) }, thresholds);
    expect(result).toMatchObject({ passed: true, verdict: 'passed', failed: [] });
    expect(result.checks.find((c) => c.name === 'maxAgreementDropToIncumbent')).toMatchObject({
      value: 0,
      passed: true,
      paired: { verdict: 'not-worse', queriesToDecide: null },
    });
    expect(result.statistics?.map((s) => [s.metric, s.test, s.verdict, s.gating])).toEqual([
      ['dominantAgreement', 'mcnemar-exact', 'not-worse', true],
      ['weightError', 'paired-bootstrap', 'not-worse', true],
    ]);
  });

  it('worse: a significant drop beyond the margin rejects', () => {
    const result = evaluateGate({ ...good, incumbent: incumbent(1, 12, 100) }, thresholds);
    expect(result).toMatchObject({ passed: false, verdict: 'rejected', failed: ['maxAgreementDropToIncumbent'] });
    expect(result.summary).toBe('rejected: maxAgreementDropToIncumbent (0.11 > 0.03)');
  });

  it('inconclusive: 0.96 against 1.00 on 50 queries keeps the incumbent and says how many queries would decide', () => {
    const result = evaluateGate({ ...good, incumbent: incumbent(0, 2) }, thresholds);
    expect(result).toMatchObject({ passed: false, verdict: 'inconclusive', failed: ['maxAgreementDropToIncumbent'] });
    expect(result.summary).toBe(
      'inconclusive: the incumbent is kept (inconclusiveGate keepIncumbent): maxAgreementDropToIncumbent inconclusive ' +
        '(drop 0.040, upper bound 0.086 > margin 0.03 at 95 %, McNemar p 0.250; about 65 paired held-out queries ' +
        'would decide (50 now))',
    );
    // The fixed drop of earlier releases (0.04 > 0.03) would have rejected it outright.
  });

  it('inconclusive with inconclusiveGate promote passes, saying so; a failed threshold still rejects', () => {
    const promote = { ...thresholds, inconclusiveGate: 'promote' as const };
    const result = evaluateGate({ ...good, incumbent: incumbent(0, 2) }, promote);
    expect(result).toMatchObject({ passed: true, verdict: 'passed' });
    expect(result.summary).toContain('inconclusive');
    const failing = evaluateGate({ ...good, studentJudgeScore: 3, incumbent: incumbent(0, 2) }, thresholds);
    expect(failing.verdict).toBe('rejected');
  });

  it('a higher confidence widens the bound: what passes at 0.8 is inconclusive at 0.99', () => {
    const paired = incumbent(3, 4, 400);
    expect(evaluateGate({ ...good, incumbent: paired }, { ...thresholds, gateConfidence: 0.8 }).verdict).toBe('passed');
    expect(evaluateGate({ ...good, incumbent: paired }, { ...thresholds, gateConfidence: 0.99 }).verdict).toBe(
      'passed',
    );
    const close = incumbent(2, 5, 200);
    expect(evaluateGate({ ...good, incumbent: close }, { ...thresholds, gateConfidence: 0.8 }).verdict).toBe('passed');
    expect(evaluateGate({ ...good, incumbent: close }, { ...thresholds, gateConfidence: 0.99 }).verdict).toBe(
      'inconclusive',
    );
  });
});

/** `count` prompts at each judge score difference (incumbent − candidate), as Check evaluation pairs them. */
const judgePaired = (...drops: [drop: number, count: number][]) => ({
  queries: drops.reduce((n, [, count]) => n + count, 0),
  unpaired: { candidate: 0, other: 0 },
  drops: drops.map(([drop, count]) => ({ drop, count })),
});
const sameAgreement = (queries: number) => ({ queries, candidateOnly: 0, otherOnly: 0 });

describe('evaluateGate: judge scores against the incumbent, paired per prompt', () => {
  const incumbent = (paired: ReturnType<typeof judgePaired>, judgeScore = 4.3) => ({
    judgeScore,
    dominantAgreement: 0.9,
    judgePaired: paired,
  });

  it('not worse: judge noise that favours neither model on 500 prompts passes, as a paired bootstrap', () => {
    const result = evaluateGate(
      { ...good, incumbent: incumbent(judgePaired([-1, 40], [0, 420], [1, 40])) },
      thresholds,
    );
    expect(result).toMatchObject({ passed: true, verdict: 'passed' });
    expect(result.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')).toMatchObject({
      value: 0,
      threshold: 0.1,
      passed: true,
      paired: { verdict: 'not-worse', queriesToDecide: null },
      description: expect.stringContaining('paired bootstrap of the per-prompt score differences on 500 prompts'),
    });
    expect(result.statistics?.[0]).toMatchObject({
      metric: 'judgeScore',
      test: 'paired-bootstrap',
      queries: 500,
      verdict: 'not-worse',
      gating: true,
    });
  });

  it('decides on the pairs, not the means: 0.2 below the incumbent on every prompt is worse', () => {
    // The means alone (4.1 against 4.3) are what the fixed drop compared; the pairs show it is no noise.
    const result = evaluateGate({ ...good, incumbent: incumbent(judgePaired([0, 400], [1, 100])) }, thresholds);
    expect(result).toMatchObject({ passed: false, verdict: 'rejected', failed: ['maxJudgeDropToIncumbent'] });
    expect(result.summary).toBe('rejected: maxJudgeDropToIncumbent (0.2 > 0.1)');
    expect(result.statistics?.find((st) => st.metric === 'judgeScore')?.verdict).toBe('worse');
  });

  it('inconclusive on 30 prompts: keeps the incumbent and says how many prompts would decide', () => {
    const result = evaluateGate({ ...good, incumbent: incumbent(judgePaired([0, 28], [1, 2])) }, thresholds);
    expect(result).toMatchObject({ passed: false, verdict: 'inconclusive', failed: ['maxJudgeDropToIncumbent'] });
    const judge = result.statistics?.find((st) => st.metric === 'judgeScore');
    expect(judge).toMatchObject({ verdict: 'inconclusive', queries: 30, observedDrop: 0.066666667 });
    // z² · s² / (margin − d)²: 1.6449² · 0.0644 / 0.0333² ≈ 157.
    expect(judge?.queriesToDecide).toBeGreaterThan(140);
    expect(judge?.queriesToDecide).toBeLessThan(175);
    expect(result.summary).toMatch(
      /^inconclusive: the incumbent is kept \(inconclusiveGate keepIncumbent\): maxJudgeDropToIncumbent inconclusive \(drop 0\.067, upper bound 0\.1\d\d > margin 0\.1 at 95 %, paired bootstrap p 0\.\d{3}; about \d+ paired held-out queries would decide \(30 now\)\)$/,
    );
    const promoted = evaluateGate(
      { ...good, incumbent: incumbent(judgePaired([0, 28], [1, 2])) },
      { ...thresholds, inconclusiveGate: 'promote' },
    );
    expect(promoted).toMatchObject({ passed: true, verdict: 'passed' });
    expect(promoted.summary).toContain('inconclusive (drop 0.067');
  });

  it('falls back to the fixed drop on the means without per-prompt scores, and says why', () => {
    const predates = evaluateGate({ ...good, incumbent: { judgeScore: 4.3, dominantAgreement: 0.9 } }, thresholds);
    expect(predates.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')).toMatchObject({
      value: 0.2,
      passed: false,
      description: expect.stringContaining(
        "the fixed drop on the means: this evaluation predates per-query pairing of the judge's scores",
      ),
    });
    expect(predates.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')?.paired).toBeUndefined();
    const unnamed = evaluateGate(
      {
        ...good,
        incumbent: { judgeScore: 4.1, dominantAgreement: 0.9, judgeNote: 'no prompt was scored in both judge jobs' },
      },
      thresholds,
    );
    expect(unnamed.checks.find((c) => c.name === 'maxJudgeDropToIncumbent')?.description).toContain(
      'the fixed drop on the means: no prompt was scored in both judge jobs',
    );
  });
});

describe('evaluateGate: weight error against the incumbent gates, paired per query', () => {
  const incumbent = (errorDrops: number[]) => ({
    judgeScore: 4.1,
    dominantAgreement: 0.9,
    paired: { ...sameAgreement(errorDrops.length), errorDrops },
  });

  it('worse: 0.05 more error on every query rejects (it was reported only before)', () => {
    const result = evaluateGate({ ...good, incumbent: incumbent(Array.from({ length: 100 }, () => 0.05)) }, thresholds);
    expect(result).toMatchObject({ passed: false, verdict: 'rejected', failed: ['maxWeightErrorRiseToIncumbent'] });
    expect(result.summary).toBe('rejected: maxWeightErrorRiseToIncumbent (0.05 > 0.02)');
    expect(result.checks.at(-1)).toMatchObject({
      name: 'maxWeightErrorRiseToIncumbent',
      threshold: 0.02,
      paired: { verdict: 'worse' },
    });
  });

  it('a rise within the margin on many queries passes; noise on few queries is inconclusive and keeps the incumbent', () => {
    const within = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 0.05 : i % 4 === 1 ? -0.05 : 0.01));
    expect(evaluateGate({ ...good, incumbent: incumbent(within) }, thresholds).verdict).toBe('passed');
    const noisy = [0.1, -0.1, 0.15, -0.05, 0.05, -0.1, 0.1, 0, 0.05, -0.05];
    const result = evaluateGate({ ...good, incumbent: incumbent(noisy) }, thresholds);
    expect(result).toMatchObject({
      passed: false,
      verdict: 'inconclusive',
      failed: ['maxWeightErrorRiseToIncumbent'],
    });
    expect(result.summary).toContain('maxWeightErrorRiseToIncumbent inconclusive (rise 0.015');
    expect(result.summary).toContain('paired held-out queries would decide (10 now)');
    expect(
      evaluateGate({ ...good, incumbent: incumbent(noisy) }, { ...thresholds, inconclusiveGate: 'promote' }).verdict,
    ).toBe('passed');
  });

  it('falls back to the fixed rise on the means for evaluations before pairing', () => {
    const result = evaluateGate(
      {
        ...good,
        studentMeanAbsoluteError: 0.1,
        incumbent: { judgeScore: 4.1, dominantAgreement: 0.9, meanAbsoluteError: 0.05 },
      },
      thresholds,
    );
    expect(result.failed).toEqual(['maxWeightErrorRiseToIncumbent']);
    expect(result.checks.at(-1)).toMatchObject({
      value: 0.05,
      description: expect.stringContaining('the fixed rise on the means: this evaluation predates per-query pairing'),
    });
  });

  it('the configured margin applies', () => {
    const drops = Array.from({ length: 100 }, () => 0.05);
    expect(
      evaluateGate({ ...good, incumbent: incumbent(drops) }, { ...thresholds, maxWeightErrorRiseToIncumbent: 0.06 })
        .verdict,
    ).toBe('passed');
  });
});

describe('evaluateGate: a candidate identical to the incumbent is never worse (held-out sizes 20..2000)', () => {
  const confidence = fc.double({ min: 0.8, max: 0.999, noNaN: true });

  it('the same answers: every comparison is not worse and the gate passes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 2000 }), confidence, (queries, gateConfidence) => {
        const result = evaluateGate(
          {
            ...good,
            incumbent: {
              judgeScore: good.studentJudgeScore,
              dominantAgreement: good.studentDominantAgreement,
              paired: { ...sameAgreement(queries), errorDrops: Array.from({ length: queries }, () => 0) },
              judgePaired: judgePaired([0, queries]),
            },
          },
          { ...thresholds, gateConfidence },
        );
        expect(result.statistics?.map((st) => st.verdict)).toEqual(['not-worse', 'not-worse', 'not-worse']);
        expect(result.verdict).toBe('passed');
      }),
      {
        numRuns: 60,
        examples: [
          [20, 0.999],
          [2000, 0.999],
        ],
      },
    );
  });

  it('noise that favours neither (each difference as often as its opposite, discordant pairs even; 20..400 queries): never worse', () => {
    // Up to 400 queries: the bootstrap's draws grow with queries × resamples, and the bound is what matters here.
    const noise = fc.integer({ min: 10, max: 200 }).chain((pairs) =>
      fc.record({
        pairs: fc.constant(pairs),
        judge: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: pairs, maxLength: pairs }),
        error: fc.array(fc.integer({ min: -6, max: 6 }), { minLength: pairs, maxLength: pairs }),
        discordant: fc.integer({ min: 0, max: pairs }),
      }),
    );
    fc.assert(
      fc.property(noise, confidence, ({ pairs, judge, error, discordant }, gateConfidence) => {
        const queries = 2 * pairs;
        const counts = new Map<number, number>();
        for (const d of judge.flatMap((j) => [j, -j])) counts.set(d, (counts.get(d) ?? 0) + 1);
        const result = evaluateGate(
          {
            ...good,
            incumbent: {
              judgeScore: good.studentJudgeScore,
              dominantAgreement: good.studentDominantAgreement,
              paired: {
                queries,
                candidateOnly: discordant,
                otherOnly: discordant,
                errorDrops: error.flatMap((e) => [e * 0.05, -e * 0.05]),
              },
              judgePaired: judgePaired(...counts.entries()),
            },
          },
          { ...thresholds, gateConfidence },
        );
        expect(result.statistics).toHaveLength(3);
        for (const st of result.statistics ?? []) expect(st.verdict).not.toBe('worse');
        expect(result.verdict).not.toBe('rejected');
      }),
      { numRuns: 15 },
    );
  });
});
