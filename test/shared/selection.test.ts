import fc from 'fast-check';
import {
  judgeStandardError,
  qualityWin,
  selectCandidate,
  type CandidateFigures,
} from '../../lambda/pipeline/selection/selection';

const figures = (name: string, order: number, overrides: Partial<CandidateFigures> = {}): CandidateFigures => ({
  name,
  order,
  passed: true,
  verdict: 'passed',
  queries: 500,
  dominantAgreement: 0.9,
  judge: { mean: 4, scored: 500, histogram: [0, 25, 75, 225, 175] },
  costPer1MQueriesUsd: 2.6,
  latencyP50Ms: 300,
  ...overrides,
});

describe('selectCandidate', () => {
  it('picks the cheaper of two candidates that sampling error cannot tell apart', () => {
    const s = selectCandidate(
      [figures('distill', 0, { dominantAgreement: 0.91 }), figures('ft', 1, { costPer1MQueriesUsd: 1.2 })],
      0.95,
    );
    expect(s.winner).toBe('ft');
    expect(s.ranking.map((r) => r.name)).toEqual(['ft', 'distill']);
    expect(s.reason).toContain('ft costs $1.20 per 1M queries vs $2.60');
  });

  it('picks the better candidate when agreement differs beyond its standard error, whatever it costs', () => {
    const s = selectCandidate(
      [
        figures('distill', 0, { dominantAgreement: 0.95 }),
        figures('ft', 1, { dominantAgreement: 0.85, costPer1MQueriesUsd: 1 }),
      ],
      0.95,
    );
    expect(s.winner).toBe('distill');
    expect(s.ranking[1]?.beatenBy).toEqual(['distill']);
    expect(s.ranking[1]?.why).toMatch(/^beaten by distill on agreement 0.95 vs 0.85/);
  });

  it('does not count a gap smaller than its standard error at 50 queries', () => {
    // 0.96 vs 0.90 on 50 queries: se ≈ 0.05, z·se ≈ 0.08 — not a win; cost decides.
    const s = selectCandidate(
      [
        figures('a', 0, { queries: 50, dominantAgreement: 0.96 }),
        figures('b', 1, { queries: 50, dominantAgreement: 0.9, costPer1MQueriesUsd: 2 }),
      ],
      0.95,
    );
    expect(s.winner).toBe('b');
    expect(s.ranking.every((r) => r.beatenBy.length === 0)).toBe(true);
  });

  it('uses the judge score when agreement cannot decide', () => {
    const better = { mean: 4.6, scored: 500, histogram: [0, 0, 25, 150, 325] };
    const s = selectCandidate([figures('a', 0), figures('b', 1, { judge: better, costPer1MQueriesUsd: 9 })], 0.95);
    expect(s.winner).toBe('b');
    expect(s.ranking[1]?.why).toMatch(/judge/);
  });

  it('falls back to p50 latency, then the configured order', () => {
    expect(selectCandidate([figures('a', 0, { latencyP50Ms: 400 }), figures('b', 1)], 0.95).winner).toBe('b');
    expect(selectCandidate([figures('a', 0), figures('b', 1)], 0.95).winner).toBe('a');
  });

  it('treats a latency gap within measurement noise (10 % or 5 ms) as a tie: the configured order decides', () => {
    expect(selectCandidate([figures('a', 0, { latencyP50Ms: 320 }), figures('b', 1)], 0.95).winner).toBe('a');
    expect(
      selectCandidate([figures('a', 0, { latencyP50Ms: 4 }), figures('b', 1, { latencyP50Ms: 0.3 })], 0.95).winner,
    ).toBe('a');
    expect(selectCandidate([figures('a', 0, { latencyP50Ms: 340 }), figures('b', 1)], 0.95).reason).toContain(
      'b answers in 300 ms p50 vs 340 ms',
    );
  });

  it('only a candidate whose gate passed can win; none passing names nobody but ranks them for the report', () => {
    const rejected = figures('a', 0, { passed: false, verdict: 'rejected', dominantAgreement: 0.99 });
    expect(selectCandidate([rejected, figures('b', 1)], 0.95).winner).toBe('b');
    const none = selectCandidate([rejected, figures('b', 1, { passed: false, verdict: 'inconclusive' })], 0.95);
    expect(none.winner).toBeUndefined();
    expect(none.ranking[0]?.name).toBe('a');
    expect(none.reason).toBe('no candidate passed its gate (a: rejected; b: inconclusive)');
  });

  it('never ranks a candidate above one that beats it, at any held-out size (property)', () => {
    const candidate = fc.record({
      dominantAgreement: fc.double({ min: 0, max: 1, noNaN: true }),
      cost: fc.double({ min: 0.5, max: 5, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 2000 }), fc.array(candidate, { minLength: 1, maxLength: 4 }), (n, cs) => {
        const all = cs.map((c, i) =>
          figures(`c${i}`, i, { queries: n, dominantAgreement: c.dominantAgreement, costPer1MQueriesUsd: c.cost }),
        );
        const s = selectCandidate(all, 0.95);
        expect(s.winner).toBeDefined();
        const winner = all.find((c) => c.name === s.winner);
        for (const other of all)
          if (winner && other !== winner) expect(qualityWin(other, winner, 0.95)).toBeUndefined();
      }),
    );
  });
});

describe('judgeStandardError', () => {
  it('is the standard error of the histogram mean', () => {
    // Half 3s and half 5s: sd = 1.0025…, se = sd / √400.
    expect(judgeStandardError({ mean: 4, scored: 400, histogram: [0, 0, 200, 0, 200] })).toBeCloseTo(
      Math.sqrt((400 * 1) / 399 / 400),
      6,
    );
    expect(judgeStandardError({ mean: 4, scored: 1 })).toBe(0);
  });
});
