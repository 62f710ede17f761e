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
      ['weightError', 'paired-bootstrap', 'not-worse', false],
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
