import { estimateServing, REDACTION_USD_PER_SAMPLE } from '../../lambda/pipeline/cost/serving-cost';

/** The redaction guardrail's price in the shadow line: one text unit ($0.10 per 1,000) per sampled query. */
const inputs = {
  queriesPerMonth: 10_000_000,
  studentModelPer1MUsd: 2.6,
  apiType: 'http',
  routerMemoryMb: 128,
  routerTracing: 'passThrough',
  routerLogSampleRate: 0.01,
  routerPlatformLogs: false,
  shadowSampleRate: 0.001,
  teacherLabelUsd: 0.000376,
  labellerMemoryMb: 512,
} as const;
const shadow = (cost: ReturnType<typeof estimateServing>) =>
  cost.parts.find((p) => p.item.startsWith('shadow loop'))?.usdPer1MQueries ?? NaN;

it('is $0.0001 per sample, in the shadow line by default (redaction on), and gone with redaction off', () => {
  expect(REDACTION_USD_PER_SAMPLE).toBeCloseTo(0.0001, 12);
  const on = estimateServing(inputs);
  const off = estimateServing({ ...inputs, redactionUsdPerSample: 0 });
  // 0.1 % of 1M queries = 1,000 samples × $0.0001.
  expect(shadow(on) - shadow(off)).toBeCloseTo(0.1, 9);
  expect(on.parts.find((p) => p.item.startsWith('shadow loop'))?.item).toContain('PII redaction');
  expect(on.assumptions.join('\n')).toContain('one redaction guardrail call ($0.00010)');
  expect(off.assumptions.join('\n')).toContain('no redaction');
});
