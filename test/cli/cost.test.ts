import { REDACTION_USD_PER_SAMPLE } from '../../lambda/pipeline/cost/serving-cost';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planQueries } from '../../lambda/pipeline/generation/query-plan';
import { projectContext, PROJECT_ROOT, UsageError } from '../../lib/cli/args';
import { costJson, readmeCostBlock, runCost, withReadmeCostBlock } from '../../lib/cli/cost';

const run = (...argv: string[]) => {
  const result = runCost(argv, {});
  if ('help' in result) throw new Error('help was not asked for');
  return result;
};
const labelling = (estimate: ReturnType<typeof run>['estimate']) =>
  estimate.stages[0]?.lines.find((l) => l.item.startsWith('label queries'));

describe('npm run cost', () => {
  it('estimates for the flags given, over the configured defaults', () => {
    const { estimate, text } = run('--examples', '10000', '--queries-per-month', '10000000');
    expect(text).toMatch(
      /^## Cost estimate: 10,000 training \+ 500 held-out examples, 10,000,000 routed queries\/month/,
    );
    expect(estimate.routing.queriesPerMonth).toBe(10_000_000);
    // 14,175 planned queries in 146 shards, each labelled 20 per call on its own (labelBatchSize auto, estimated at
    // the largest candidate).
    const shards = planQueries({
      exampleCount: 10_000,
      testExampleCount: 500,
      generationSurplus: 0.35,
      queriesPerShard: 100,
    }).shards;
    expect(shards).toHaveLength(146);
    expect(labelling(estimate)?.calls).toBe(shards.reduce((sum, shard) => sum + Math.ceil(shard.count / 20), 0));
    expect(run('--examples', '10000', '--label-batch-size', '1').estimate.stages[0]?.lines.at(-1)?.calls).toBe(14175);
  });

  it('accepts --flag=value, digit separators, a boolean flag and distillation rates', () => {
    const plain = run('--examples=2000').estimate;
    const other = run('--examples=2,000', '--reasoning', '--training-per-1k', '0.002', '--epochs', '3').estimate;
    expect(labelling(other)?.calls).toBe(labelling(plain)?.calls);
    // --epochs is the distillation's (UNVERIFIED) rate; the fine-tuning candidate keeps its epochCount.
    expect(other.stages[1]?.lines.map((l) => l.item)).toEqual([
      'ft-micro: training (2 epochs)',
      'distill-micro: teacher inference in the job',
      'distill-micro: training (3 epochs)',
    ]);
    expect(other.runUsd).toBeGreaterThan(plain.runUsd);
  });

  it('takes price overrides as CDK context, like the app', () => {
    const cheap = run(
      '-c',
      'teacherModelId=us.amazon.nova-premier-v1:0',
      '--context=prices={"amazon.nova-premier-v1:0":{"inputPer1M":0,"outputPer1M":0}}',
    ).estimate;
    expect(cheap.stages[0]?.usd).toBe(0);
  });

  it.each([
    [['--exampels', '10'], /unknown flag --exampels — did you mean --examples\?/],
    [['--examples', 'ten'], /--examples must be a whole number .*got "ten"/],
    [
      ['--examples', '50'],
      /exampleCount \(given: 50\): must be a whole number from 100 to 15000 \[from --examples 50\]/,
    ],
    [['--examples', '200'], /testExampleCount: must be smaller than exampleCount \[from --examples 200\]/],
    [['--queries-per-month'], /--queries-per-month needs a value/],
    [['--queries-per-month', '-5'], /--queries-per-month must be a whole number of at least 0/],
    [['--reasoning=maybe'], /--reasoning takes no value/],
    [['--judge', 'acme.judge-v1:0'], /no price for model "acme\.judge-v1:0"/],
    [['10000'], /unexpected argument "10000"/],
    [
      ['--label-batch-size', '26'],
      /labelBatchSize .*"auto" .* or a whole number from 1 to 25 .*\[from --label-batch-size "26"\]/,
    ],
  ])('rejects %j with a message naming the flag', (argv, message) => {
    expect(() => runCost(argv, {})).toThrow(UsageError);
    expect(() => runCost(argv, {})).toThrow(message);
  });

  it('meets the goals of issue 10 with the default configuration: student ≤ $3 per 1M queries, a run ≤ $15', () => {
    const result = run('--json', '--examples', '10000', '--queries-per-month', '10000000');
    const json = costJson(result.estimate, result.serving);
    expect(json.studentPer1MQueriesUsd).toBeLessThanOrEqual(3);
    expect(json.runUsd).toBeLessThanOrEqual(15);
    // The worst case of calibration (one query per call) still meets the run goal.
    expect(run('--examples', '10000', '--label-batch-size', '1').estimate.runUsd).toBeLessThanOrEqual(15);
    expect(json.tokensPerQuery.student).toMatchObject({ answerFormat: 'student-v3', outputTokens: 7 });
  });

  it('meets the goals of issue 20: both default candidates priced, the fine-tuned student ≤ $1.50 per 1M queries', () => {
    const result = run('--json', '--examples', '10000', '--queries-per-month', '10000000');
    const json = costJson(result.estimate, result.serving);
    expect(json.candidates.map((c) => [c.name, c.method, c.promptVersion])).toEqual([
      ['ft-micro', 'fine-tuning', 'student-v3'],
      ['distill-micro', 'distillation', 'student-v2'],
    ]);
    const [ft, distill] = json.candidates;
    // The top level is the default winner's (the first candidate's), and the serving total follows it.
    expect(json.studentPer1MQueriesUsd).toBe(ft?.studentPer1MQueriesUsd);
    expect(json.studentPer1MQueriesUsd).toBeLessThanOrEqual(1.5);
    expect(json.serving.parts[0]).toEqual({
      item: 'student model (Bedrock)',
      usdPer1MQueries: ft?.studentPer1MQueriesUsd,
    });
    // Distillation pays the teacher in the job, fine-tuning does not; the fine-tuned student asks with fewer tokens.
    expect(ft?.teacherInferenceUsd).toBe(0);
    expect(distill?.teacherInferenceUsd).toBeGreaterThan(0);
    expect(ft?.tokensPerQuery.inputTokens).toBeLessThan(distill?.tokensPerQuery.inputTokens ?? 0);
    expect(ft?.epochs).toBe(2);
    // Both candidates trained, evaluated and judged in one run still meet the run goal.
    expect(json.runUsd).toBeLessThanOrEqual(15);
  });

  it('prices the configured candidates: one only, or a teacher-prompt distillation that pays for its prompt', () => {
    const one = run('--json', '--examples', '10000', '-c', 'candidates=[{"name":"d","method":"distillation"}]');
    const teacherPrompt = run(
      '--json',
      '--examples',
      '10000',
      '-c',
      'candidates=[{"name":"dt","method":"distillation","promptVersion":"teacher-v1"}]',
    );
    expect(one.estimate.candidates.map((c) => c.name)).toEqual(['d']);
    const [d] = one.estimate.candidates;
    const [dt] = teacherPrompt.estimate.candidates;
    expect(d?.studentPer1MQueriesUsd).toBeCloseTo(2.6, 1);
    expect(dt?.studentPer1MQueriesUsd).toBeGreaterThan(5 * (d?.studentPer1MQueriesUsd ?? Infinity));
    expect(dt?.teacherInferenceUsd).toBeGreaterThan(d?.teacherInferenceUsd ?? Infinity);
  });

  it('--json prints one object whose figures are the markdown’s', () => {
    const { text, estimate } = run('--json', '--examples', '10000');
    const json = JSON.parse(text) as ReturnType<typeof costJson>;
    expect(json.runUsd).toBeCloseTo(estimate.runUsd, 10);
    const markdown = run('--examples', '10000').text;
    expect(markdown).toContain(`**One run: $${json.runUsd.toFixed(2)}**`);
    expect(markdown).toContain(`| $${json.studentPer1MQueriesUsd.toFixed(2)} |`);
    expect(json.routing.models.map((m) => m.model)).toEqual(['student', 'teacher', 'baseline']);
  });

  it('the README’s cost block is what `npm run cost` prints now (regenerate: npm run docs:cost)', () => {
    // Prettier pads the README's tables; cells are compared trimmed.
    const cells = (text: string) =>
      text
        .split('\n')
        .map((line) =>
          line.startsWith('|')
            ? line
                .split('|')
                .map((cell) => cell.trim().replace(/^-+$/, '---'))
                .join('|')
            : line,
        )
        .join('\n');
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const block = readmeCostBlock(projectContext(PROJECT_ROOT));
    expect(cells(readme)).toBe(cells(withReadmeCostBlock(readme, block)));
  });

  it('prints help', () => {
    const result = runCost(['--help'], {});
    expect('help' in result && result.help).toMatch(/--queries-per-month <integer>/);
  });
});

describe('npm run cost: the full price of a routed query (serving)', () => {
  const serving = (...context: string[]) =>
    run('--json', '--examples', '10000', '--queries-per-month', '10000000', ...context.flatMap((c) => ['-c', c]));
  const part = (result: ReturnType<typeof run>, prefix: string) =>
    result.serving.parts.find((p) => p.item.startsWith(prefix))?.usdPer1MQueries;

  it('meets the goal of issue 17 with the default configuration: serving ≤ $6.00 per 1M queries, in the JSON', () => {
    const result = serving();
    const json = JSON.parse(result.text) as ReturnType<typeof costJson>;
    expect(json.servingPer1MQueriesUsd).toBeLessThanOrEqual(6);
    expect(json.servingPer1MQueriesUsd).toBeCloseTo(
      json.serving.parts.reduce((sum, p) => sum + p.usdPer1MQueries, 0),
      10,
    );
    // The model is one part of it: the student's routing row, counted once.
    expect(json.serving.parts[0]).toEqual({
      item: 'student model (Bedrock)',
      usdPer1MQueries: json.studentPer1MQueriesUsd,
    });
    expect(json.servingPer1MQueriesUsd).toBeGreaterThan(json.studentPer1MQueriesUsd + 1);
  });

  it('prices each serving setting from AWS list prices', () => {
    const base = serving();
    // API Gateway: $1.00 (HTTP API) vs $3.50 (REST API, what API keys need) per 1M requests.
    expect(part(base, 'API Gateway (HTTP API)')).toBe(1);
    expect(part(serving('apiAuth=apiKey'), 'API Gateway (REST API)')).toBe(3.5);
    // Lambda: billed while it waits: (833 + 20) ms × 128 MB / 1024 × $0.0000133334 per GB-s × 1M.
    expect(part(base, 'router Lambda duration (128 MB')).toBeCloseTo(0.853 * 0.125 * 13.3334, 6);
    expect(part(serving('routerMemoryMb=512'), 'router Lambda duration (512 MB')).toBeCloseTo(0.853 * 0.5 * 13.3334, 6);
    // X-Ray: nothing in pass-through; active at 10M queries/month (3.86/s): (1 + 5 % of the rest) / 3.86 traced.
    expect(part(base, 'X-Ray')).toBe(0);
    const perSecond = 10_000_000 / (30 * 24 * 3600);
    expect(part(serving('routerTracing=active'), 'X-Ray')).toBeCloseTo(
      ((1 + 0.05 * (perSecond - 1)) / perSecond) * 5,
      6,
    );
    // Logs: platform events and a routed line for every request cost more than the defaults.
    const logs = part(base, 'CloudWatch Logs') ?? NaN;
    expect(part(serving('routerPlatformLogs=true'), 'CloudWatch Logs')).toBeGreaterThan(logs);
    expect(part(serving('routerLogSampleRate=1'), 'CloudWatch Logs')).toBeGreaterThan(logs);
    // The shadow loop scales with its rate: 0 turns it off, 5× the rate is 5× the cost.
    const shadow = part(base, 'shadow loop') ?? NaN;
    expect(part(serving('shadowSampleRate=0'), 'shadow loop')).toBe(0);
    expect(part(serving('shadowSampleRate=0.005'), 'shadow loop')).toBeCloseTo(5 * shadow, 6);
    // A label is the teacher's routing cost per query and the guardrail's masking of the query, plus the loop's own
    // AWS requests and Lambda time; redaction off takes the masking away.
    const teacher = base.estimate.routing.rows.find((r) => r.model === 'teacher')?.usdPer1MQueries ?? NaN;
    const masked = teacher + REDACTION_USD_PER_SAMPLE * 1e6;
    expect(shadow).toBeGreaterThan(0.001 * masked);
    expect(shadow).toBeLessThan(0.001 * masked * 1.1);
    expect(part(serving('redactPiiTypes=none'), 'shadow loop')).toBeCloseTo(
      shadow - 0.001 * REDACTION_USD_PER_SAMPLE * 1e6,
      6,
    );
  });

  it('the shadow line shares a batch call among the samples one labeller invocation holds', () => {
    const at = (queries: string, ...context: string[]) =>
      run('--json', '--examples', '10000', '--queries-per-month', queries, ...context.flatMap((c) => ['-c', c]));
    const perQuery = (r: ReturnType<typeof run>) =>
      (part(r, 'shadow loop') ?? NaN) / r.estimate.routing.queriesPerMonth;
    // At the default rate an invocation holds ~1 sample: one call each, whatever the batch size, and the assumption
    // says what full batches would save.
    const low = at('10000000');
    expect(perQuery(low)).toBeCloseTo(perQuery(at('10000000', 'shadowLabelBatchSize=1')), 15);
    const shadowNote = low.serving.assumptions.find((a) => a.startsWith('shadow loop')) ?? '';
    expect(shadowNote).toMatch(/one call each .*at full batches of 20 a label would cost \$0\.000128/);
    // At 2B queries a month (~46 samples a minute) an invocation holds 10 messages: 10 per call, cheaper per sample.
    const high = at('2000000000');
    const single = at('2000000000', 'shadowLabelBatchSize=1');
    expect(high.serving.assumptions.find((a) => a.startsWith('shadow loop'))).toMatch(/10 per call/);
    expect(perQuery(high)).toBeLessThan(perQuery(single) * 0.6);
    expect(at('2000000000', 'shadowLabelBatchSize=5').serving.assumptions.join('\n')).toMatch(/5 per call/);
  });

  it('shows the serving parts and total in the markdown, with its assumptions', () => {
    const { text, serving: cost } = run('--examples', '10000');
    expect(text).toContain('### Serving: the full price of 1M routed queries');
    expect(text).toContain(`| **total** | **$${cost.usdPer1MQueries.toFixed(2)}** |`);
    expect(text).toMatch(/- the router is billed for the student's latency \(833 ms/);
  });
});
