import fc from 'fast-check';
import {
  binomialUpperTail,
  compareAgreement,
  compareDifferences,
  mcnemarExact,
  normalQuantile,
} from '../../lambda/core/paired-stats';

const at95 = { confidence: 0.95, margin: 0.03 };

describe('paired statistics: known values', () => {
  it('exact binomial tails and McNemar p-values', () => {
    expect(binomialUpperTail(2, 2)).toBe(0.25);
    expect(binomialUpperTail(0, 7)).toBe(1);
    expect(binomialUpperTail(8, 7)).toBe(0);
    // 1 query only the candidate got right, 9 only the incumbent: P(X ≥ 9 | 10, ½) = 11 / 1024.
    expect(mcnemarExact(1, 9).oneSided).toBeCloseTo(11 / 1024, 12);
    expect(mcnemarExact(1, 9).twoSided).toBeCloseTo(22 / 1024, 12);
    expect(mcnemarExact(0, 5).oneSided).toBeCloseTo(1 / 32, 12);
    expect(mcnemarExact(3, 3).twoSided).toBe(1);
    expect(mcnemarExact(0, 0)).toEqual({ oneSided: 1, twoSided: 1 });
  });

  it('normal quantiles', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.644853627, 7);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 7);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 6);
  });

  it('0.96 against 1.00 on 50 queries is inconclusive, and says ~65 queries would decide (the outside runs)', () => {
    const result = compareAgreement({ queries: 50, candidateOnly: 0, otherOnly: 2 }, at95);
    expect(result).toMatchObject({
      test: 'mcnemar-exact',
      verdict: 'inconclusive',
      observedDrop: 0.04,
      pValue: 0.25,
      discordant: { candidateOnly: 0, otherOnly: 2 },
    });
    // z² · (π − d²) / d² = 1.6449² · (0.04 − 0.0016) / 0.0016 = 64.9.
    expect(result.queriesToDecide).toBe(65);
  });

  it('a significant drop beyond the margin is worse; balanced discordance on many queries is not worse', () => {
    expect(compareAgreement({ queries: 100, candidateOnly: 1, otherOnly: 12 }, at95)).toMatchObject({
      verdict: 'worse',
      queriesToDecide: null,
    });
    const even = compareAgreement({ queries: 500, candidateOnly: 5, otherOnly: 5 }, at95);
    expect(even.verdict).toBe('not-worse');
    expect(even.upperBound).toBeCloseTo(1.644853627 * Math.sqrt(0.02 / 500), 6);
    expect(compareAgreement({ queries: 50, candidateOnly: 0, otherOnly: 0 }, at95).verdict).toBe('not-worse');
    expect(compareAgreement({ queries: 0, candidateOnly: 0, otherOnly: 0 }, at95).verdict).toBe('inconclusive');
  });

  it('the paired bootstrap: a constant difference is its own bound; noise around 0 on few queries is inconclusive', () => {
    expect(
      compareDifferences(
        Array.from({ length: 40 }, () => 0.01),
        at95,
      ),
    ).toMatchObject({
      verdict: 'not-worse',
      observedDrop: 0.01,
      upperBound: 0.01,
    });
    expect(
      compareDifferences(
        Array.from({ length: 40 }, () => 0.2),
        at95,
      ),
    ).toMatchObject({ verdict: 'worse' });
    const noisy = compareDifferences([0.3, -0.3, 0.25, -0.2, 0.1, -0.1], at95);
    expect(noisy.verdict).toBe('inconclusive');
    expect(noisy.queriesToDecide).toBeGreaterThan(6);
  });

  it('refuses a confidence or margin out of range', () => {
    expect(() =>
      compareAgreement({ queries: 1, candidateOnly: 0, otherOnly: 0 }, { confidence: 1, margin: 0 }),
    ).toThrow(RangeError);
    expect(() => compareDifferences([0], { confidence: 0.9, margin: -0.1 })).toThrow(RangeError);
    expect(() => compareAgreement({ queries: 2, candidateOnly: 2, otherOnly: 1 }, at95)).toThrow(RangeError);
  });
});

describe('paired statistics: properties over sizes', () => {
  const counts = fc.integer({ min: 1, max: 2000 }).chain((queries) =>
    fc
      .tuple(fc.integer({ min: 0, max: queries }), fc.integer({ min: 0, max: queries }))
      .filter(([b, c]) => b + c <= queries)
      .map(([candidateOnly, otherOnly]) => ({ queries, candidateOnly, otherOnly })),
  );
  const options = fc.record({
    confidence: fc.double({ min: 0.51, max: 0.999, noNaN: true }),
    margin: fc.double({ min: 0, max: 0.2, noNaN: true }),
  });

  it('McNemar p-values are probabilities, two-sided symmetric, one-sided rising as the candidate loses pairs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (b, c) => {
        const p = mcnemarExact(b, c);
        expect(p.oneSided).toBeGreaterThanOrEqual(0);
        expect(p.oneSided).toBeLessThanOrEqual(1);
        expect(p.twoSided).toBeCloseTo(mcnemarExact(c, b).twoSided, 12);
        expect(mcnemarExact(b, c + 1).oneSided).toBeLessThanOrEqual(p.oneSided + 1e-12);
      }),
    );
  });

  it('the verdict follows the bounds: not worse iff the upper bound is within the margin; a better candidate is never worse', () => {
    fc.assert(
      fc.property(counts, options, (c, o) => {
        const r = compareAgreement(c, o);
        expect(r.verdict === 'not-worse').toBe(r.upperBound <= o.margin);
        if (r.verdict === 'worse') expect(r.pValue).toBeLessThan(1 - o.confidence);
        if (c.candidateOnly >= c.otherOnly) expect(r.verdict).not.toBe('worse');
        if (r.verdict === 'inconclusive' && r.queriesToDecide !== null) {
          expect(r.queriesToDecide).toBeGreaterThan(c.queries);
        }
        if (r.verdict !== 'inconclusive') expect(r.queriesToDecide).toBeNull();
      }),
    );
  });

  it('the bootstrap is deterministic and its bound never below the mean drop at confidence ≥ 0.5', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }),
        options,
        (drops, o) => {
          const a = compareDifferences(drops, { ...o, resamples: 300 });
          expect(compareDifferences(drops, { ...o, resamples: 300 })).toEqual(a);
          expect(a.upperBound).toBeGreaterThanOrEqual(a.observedDrop - 0.15);
          expect(a.pValue).toBeGreaterThanOrEqual(0);
          expect(a.pValue).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
