import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONFIG_KEYS, ConfigError, isCdkKey, parseConfig } from '../lib/config';
import { closestMatch, editDistance } from '../lib/text/closest';
import { DEFAULT_PRICES } from '../lambda/core/prices';
import { recommendedWarmupSteps } from '../lambda/core/candidates';

const problemsOf = (context: Record<string, unknown>): string[] => {
  try {
    parseConfig(context);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected');
};

describe('config defaults', () => {
  const config = parseConfig({});

  it.each([
    ['envName', 'dev'],
    ['region', 'us-east-1'],
    ['account', undefined],
    ['teacherModelId', 'us.amazon.nova-pro-v1:0'],
    ['studentModelId', 'amazon.nova-micro-v1:0:128k'],
    ['baselineModelId', 'us.anthropic.claude-haiku-4-5-20251001-v1:0'],
    ['exampleCount', 10000],
    ['testExampleCount', 500],
    ['permissionsBoundaryArn', undefined],
    ['notificationEmail', undefined],
    ['retainData', true],
    ['generationConcurrency', 10],
    ['jobPollMinutes', 5],
    ['deploymentPollMinutes', 1],
    ['pipelineTimeoutHours', 24],
    ['minJudgeScore', 4],
    ['apiAuth', 'iam'],
    ['corsAllowOrigins', []],
    ['logQueries', false],
    ['includeReasoning', false],
    ['fallbackModelId', undefined],
    ['labelBatchSize', 'auto'],
    ['calibrationMinAgreement', 0.95],
    ['calibrationMaxWeightError', 0.03],
  ] as const)('%s defaults to %p', (key, expected) => {
    expect(config[key]).toEqual(expected);
  });

  it('defaults the static weights to the case study fallback', () => {
    expect(config.defaultWeights).toEqual({ visual: 0.4, audio: 0.2, transcription: 0.2, metadata: 0.2 });
  });

  it('gives every key a value or an explicit optional', () => {
    const optional = ['account', 'permissionsBoundaryArn', 'notificationEmail', 'fallbackModelId'];
    for (const key of CONFIG_KEYS) {
      if (!optional.includes(key)) expect(config[key]).toBeDefined();
    }
  });

  it('uses a judge from neither candidate family (judges favour their own family)', () => {
    expect(config.judgeModelId).not.toMatch(/nova|anthropic/);
  });

  it('merges price overrides over the built-in table', () => {
    const c = parseConfig({ prices: '{"amazon.nova-micro-v1:0":{"inputPer1M":0.05,"outputPer1M":0.2}}' });
    expect(c.priceTable['amazon.nova-micro-v1:0']).toEqual({ inputPer1M: 0.05, outputPer1M: 0.2 });
    expect(c.priceTable['amazon.nova-premier-v1:0']).toEqual(DEFAULT_PRICES['amazon.nova-premier-v1:0']);
  });
});

describe('config coercion of -c strings', () => {
  it('reads a fixed label batch size from -c text or a cdk.json number, and "auto"', () => {
    expect(parseConfig({ labelBatchSize: '10' }).labelBatchSize).toBe(10);
    expect(parseConfig({ labelBatchSize: 20 }).labelBatchSize).toBe(20);
    expect(parseConfig({ labelBatchSize: ' auto ' }).labelBatchSize).toBe('auto');
    expect(parseConfig({ labelBatchSize: '1' }).labelBatchSize).toBe(1);
  });

  it('coerces numbers, booleans, lists and JSON', () => {
    const c = parseConfig({
      exampleCount: '5000',
      testExampleCount: '100',
      retainData: 'false',
      logQueries: 'TRUE',
      corsAllowOrigins: 'https://a.example, https://b.example',
      defaultWeights: '{"visual":0.25,"audio":0.25,"transcription":0.25,"metadata":0.25}',
      account: '123456789012',
    });
    expect(c.exampleCount).toBe(5000);
    expect(c.testExampleCount).toBe(100);
    expect(c.retainData).toBe(false);
    expect(c.logQueries).toBe(true);
    expect(c.corsAllowOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.defaultWeights.visual).toBe(0.25);
    expect(c.account).toBe('123456789012');
  });

  it('treats an empty optional value as unset', () => {
    expect(parseConfig({ notificationEmail: '' }).notificationEmail).toBeUndefined();
  });

  it('ignores the CDK and CLI keys that share the context', () => {
    expect(() =>
      parseConfig({
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'cli-telemetry': false,
        'aws:cdk:bundling-stacks': [],
      }),
    ).not.toThrow();
  });
});

describe('config errors name the key, the value given and what is allowed', () => {
  it.each([
    [
      'below the range',
      { exampleCount: '20' },
      /^exampleCount \(given: "20"\): must be a whole number from 100 to 15000$/,
    ],
    [
      'above the range',
      { exampleCount: '20000' },
      /^exampleCount \(given: "20000"\): must be a whole number from 100 to 15000$/,
    ],
    ['not a number', { exampleCount: 'notanumber' }, /^exampleCount \(given: "notanumber"\): must be a whole number/],
    [
      'not whole',
      { testExampleCount: '99.5' },
      /^testExampleCount \(given: "99.5"\): must be a whole number from 50 to 1000$/,
    ],
    [
      'not a boolean',
      { retainData: 'maybe' },
      /^retainData \(given: "maybe"\): must be true or false \(-c retainData=true or -c retainData=false\)$/,
    ],
    ['not in the enum', { apiAuth: 'cognito' }, /^apiAuth \(given: "cognito"\): .*"iam".*"apiKey"/],
    ['a bad region', { region: 'mars' }, /^region \(given: "mars"\): must be an AWS region/],
    ['a bad account', { account: '12345' }, /^account \(given: "12345"\): must be a 12-digit AWS account id$/],
    ['a bad e-mail', { notificationEmail: 'ops' }, /^notificationEmail \(given: "ops"\): must be an e-mail address$/],
    [
      'a bad boundary',
      { permissionsBoundaryArn: 'Boundary' },
      /^permissionsBoundaryArn .*: must be an IAM managed policy ARN$/,
    ],
    [
      'a bad model id',
      { teacherModelId: 'nova premier' },
      /^teacherModelId .*: teacherModelId must be a Bedrock model id/,
    ],
    [
      'weights not summing to 1',
      { defaultWeights: '{"visual":1,"audio":1,"transcription":0,"metadata":0}' },
      /^defaultWeights .*sum to 1/,
    ],
    ['a bad origin', { corsAllowOrigins: 'ftp://x' }, /^corsAllowOrigins\.0 .*must be "\*" or an http\(s\) origin$/],
    [
      'a region without on-demand custom-model deployment',
      { region: 'eu-west-1' },
      /^region \(given: "eu-west-1"\): has no on-demand custom-model deployment.*set region to us-east-1 or us-west-2/,
    ],
    [
      'a cross-Region profile as the student',
      { studentModelId: 'us.amazon.nova-micro-v1:0' },
      /^studentModelId \(given: "us.amazon.nova-micro-v1:0"\): is a cross-Region inference profile.*base model/,
    ],
    [
      'a surplus too small to balance the run',
      { exampleCount: '100', testExampleCount: '50', generationSurplus: '0' },
      /^generationSurplus \(given: "0"\): exampleCount 100 \+ testExampleCount 50 with generationSurplus 0 plan 150 queries; at least \d+ are needed.*set generationSurplus to at least 0\.1\d+\.$/,
    ],
    [
      'more shards than the state machine holds',
      { exampleCount: '15000', testExampleCount: '1000', queriesPerShard: '10' },
      /^queriesPerShard \(given: "10"\): .*2162 shards of at most 10; at most 500 shards fit.*raise queriesPerShard to at least 44\.$/,
    ],
    [
      'a test set as large as the training set',
      { exampleCount: '200', testExampleCount: '200' },
      /^testExampleCount \(given: "200"\): must be smaller than exampleCount$/,
    ],
    [
      'a calibration agreement above 1',
      { calibrationMinAgreement: '1.5' },
      /^calibrationMinAgreement \(given: "1.5"\): must be a number from 0 to 1$/,
    ],
    [
      'a negative calibration weight error',
      { calibrationMaxWeightError: '-0.1' },
      /^calibrationMaxWeightError \(given: "-0.1"\): must be a number from 0 to 1$/,
    ],
    [
      'a gate confidence of 1 (no comparison could ever pass)',
      { gateConfidence: '1' },
      /^gateConfidence \(given: "1"\): must be a number from 0\.8 to 0\.999$/,
    ],
    [
      'an inconclusiveGate that is neither choice',
      { inconclusiveGate: 'maybe' },
      /^inconclusiveGate \(given: "maybe"\): .*keepIncumbent.*promote/,
    ],
  ])('%s', (_name, context, message) => {
    const problems = problemsOf(context);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each(['0', '26', '2.5', 'big', ''])('refuses a label batch size of %p, naming "auto" and the range', (given) => {
    expect(problemsOf({ labelBatchSize: given })).toEqual([
      `labelBatchSize (given: ${JSON.stringify(given)}): must be "auto" (calibrate at the start of each run) or a ` +
        'whole number from 1 to 25 (queries per teacher labelling call, no calibration; 1 labels one query per call)',
    ]);
  });

  it('rejects an unknown key and suggests the closest known one', () => {
    const [problem, ...rest] = problemsOf({ exampelCount: '5000' });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^unknown key "exampelCount" — did you mean "exampleCount"\?/);
  });

  it.each([
    ['EnvName', 'envName'],
    ['env_name', 'envName'],
    ['example-count', 'exampleCount'],
    ['TEACHER_MODEL_ID', 'teacherModelId'],
    ['Region', 'region'],
  ])('rejects %s, whatever its case or separators, and suggests %s', (key, near) => {
    const problems = problemsOf({ [key]: 'prod' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^unknown key "${key}" — did you mean "${near}"\\?`));
  });

  it('lets the CDK own its keys: feature flags, CLI keys, context lookups', () => {
    const cdkKeys = [
      '@aws-cdk/core:newStyleStackSynthesis',
      'aws:cdk:bundling-stacks',
      'aws:cdk:version-reporting',
      'cli-telemetry',
      'acknowledged-issue-numbers',
      'availability-zones:account=123456789012:region=us-east-1',
    ];
    for (const key of cdkKeys) expect(isCdkKey(key)).toBe(true);
    expect(() => parseConfig(Object.fromEntries(cdkKeys.map((k) => [k, 'x'])))).not.toThrow();
    for (const key of ['EnvName', 'env_name', 'cdkRegion', 'aws-region']) expect(isCdkKey(key)).toBe(false);
  });

  it('suggests nothing for a key unlike any other', () => {
    expect(problemsOf({ zzzzzzzzzz: '1' })[0]).toMatch(/^unknown key "zzzzzzzzzz"\. Known keys: envName/);
  });

  it('accepts the documented minimum run', () => {
    expect(parseConfig({ exampleCount: '100', testExampleCount: '50' })).toMatchObject({ exampleCount: 100 });
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ exampleCount: 'x', apiAuth: 'x', teacherModelID: 'x' })).toHaveLength(3);
  });

  it('puts all problems in one error message', () => {
    expect(() => parseConfig({ exampleCount: '1' })).toThrow(
      /Invalid configuration \(CDK context\):\n {2}- exampleCount/,
    );
  });
});

describe("config messages in the project's voice, one line per key with the fix", () => {
  const ZOD_WORDING = /Invalid input|Invalid option|expected \w+, received|Too small|Too big|Unrecognized key/;

  it('names every missing weight in one line, with the expected shape', () => {
    const problems = problemsOf({ defaultWeights: '{"visual":1}' });
    expect(problems).toEqual([
      `defaultWeights (given: '{"visual":1}'): missing audio, transcription and metadata; give visual, audio, ` +
        `transcription and metadata, each from 0 to 1, e.g. -c defaultWeights='{"visual":0.4,"audio":0.2,` +
        `"transcription":0.2,"metadata":0.2}'`,
    ]);
  });

  it('says weights must sum to 1, and names an unknown modality', () => {
    expect(problemsOf({ defaultWeights: '{"visual":1,"audio":1,"transcription":0,"metadata":0}' })).toEqual([
      expect.stringMatching(/^defaultWeights \(given: .*\): the four weights must sum to 1; give visual, .* e\.g\. -c/),
    ]);
    expect(problemsOf({ defaultWeights: '{"visual":1,"audio":0,"transcription":0,"metadata":0,"video":0}' })).toEqual([
      expect.stringMatching(/^defaultWeights \(given: .*\): unknown key "video"; give visual/),
    ]);
  });

  it('says text that is not JSON is not valid JSON, and shows the expected shape', () => {
    expect(problemsOf({ prices: '{bad' })).toEqual([
      'prices (given: "{bad"): is not valid JSON; give a JSON object of model id to USD per 1M tokens, e.g. ' +
        `-c prices='{"amazon.nova-micro-v1:0":{"inputPer1M":0.035,"outputPer1M":0.14}}'`,
    ]);
    expect(problemsOf({ defaultWeights: 'visual=1' })[0]).toMatch(
      /^defaultWeights \(given: "visual=1"\): is not valid JSON; /,
    );
  });

  it('words the problems inside a price override without zod', () => {
    const [problem, ...rest] = problemsOf({ prices: '{"x":{"inputPer1M":-1}}' });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^prices \(given: .*\): missing x\.outputPer1M; x\.inputPer1M must be at least 0; give /);
    expect(problem).not.toMatch(ZOD_WORDING);
  });

  it.each([
    ['IAM', 'iam'],
    ['ApiKey', 'apiKey'],
    ['api-key', 'apiKey'],
  ])('suggests the closest allowed value for apiAuth=%s (%s)', (given, near) => {
    expect(problemsOf({ apiAuth: given })).toEqual([
      `apiAuth (given: "${given}"): must be "iam" or "apiKey" — did you mean "${near}"?`,
    ]);
  });

  it('refuses anything but true or false for every boolean key, naming the fix', () => {
    const booleanKeys = Object.entries(parseConfig({}))
      .filter(([, value]) => typeof value === 'boolean')
      .map(([key]) => key);
    expect(booleanKeys).toEqual(expect.arrayContaining(['retainData', 'logQueries', 'includeReasoning']));
    for (const key of booleanKeys) {
      for (const given of ['yes', 'no', '1', '0', 'on']) {
        expect(problemsOf({ [key]: given })).toEqual([
          `${key} (given: "${given}"): must be true or false (-c ${key}=true or -c ${key}=false)`,
        ]);
      }
      expect(parseConfig({ [key]: 'false' })[key as 'retainData']).toBe(false);
      expect(parseConfig({ [key]: ' True ' })[key as 'retainData']).toBe(true);
      expect(parseConfig({ [key]: false })[key as 'retainData']).toBe(false);
    }
  });

  it('keeps every message one line and free of zod wording', () => {
    const bad: Record<string, unknown>[] = [
      { defaultWeights: '{"visual":1}' },
      { defaultWeights: '[1]' },
      { prices: '{bad' },
      { prices: '[1]' },
      { prices: '{"m":{"inputPer1M":"x","outputPer1M":1,"extra":2}}' },
      { apiAuth: 'IAM' },
      { logRetentionDays: 'x' },
      { retainData: 'yes' },
    ];
    for (const context of bad) {
      const problems = problemsOf(context);
      expect(problems).toHaveLength(1);
      expect(problems[0]).not.toMatch(ZOD_WORDING);
      expect(problems[0]).not.toContain('\n');
    }
  });
});

describe('closestMatch', () => {
  it('ignores case, dashes and underscores, and suggests nothing far away', () => {
    expect(closestMatch('EXAMPLE_COUNT', ['exampleCount', 'envName'])).toBe('exampleCount');
    expect(closestMatch('--reuse-modle', ['--reuse-model', '--reuse-dataset'])).toBe('--reuse-model');
    expect(closestMatch('zzzzzz', ['exampleCount', 'envName'])).toBeUndefined();
  });
});

describe('editDistance', () => {
  it.each([
    ['exampleCount', 'exampleCount', 0],
    ['exampelCount', 'exampleCount', 1],
    ['envname', 'envName', 1],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
  ])('%s ~ %s = %d', (a, b, d) => expect(editDistance(a, b)).toBe(d));
});

describe('README configuration table', () => {
  it('documents every config key', () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    const documented = [...section.matchAll(/^\| `(\w+)` +\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...CONFIG_KEYS].sort());
  });
});

describe('config candidates', () => {
  const ZOD_WORDING = /Invalid input|Invalid option|expected \w+, received|Too small|Too big|Unrecognized key/;
  const onlyProblem = (context: Record<string, unknown>) => {
    const problems = problemsOf(context);
    expect(problems).toHaveLength(1);
    return problems[0] ?? '';
  };

  it('defaults to prompt distillation by fine-tuning Nova Micro, then Bedrock distillation of the student', () => {
    const config = parseConfig({});
    expect(config.candidates).toEqual([
      {
        name: 'ft-micro',
        method: 'fine-tuning',
        baseModelId: 'amazon.nova-micro-v1:0:128k',
        promptVersion: 'student-v3',
        hyperParameters: { epochCount: 2, learningRate: 1e-5 },
      },
      {
        name: 'distill-micro',
        method: 'distillation',
        baseModelId: 'amazon.nova-micro-v1:0:128k',
        promptVersion: 'student-v2',
      },
    ]);
    expect(config.candidatesLeftOut).toEqual([]);
    // The distillation candidate follows studentModelId.
    expect(parseConfig({ studentModelId: 'amazon.nova-lite-v1:0:300k' }).candidates[1]?.baseModelId).toBe(
      'amazon.nova-lite-v1:0:300k',
    );
  });

  it('leaves the fine-tuning default out where the Region cannot fine-tune Nova Micro, and says why', () => {
    const config = parseConfig({ region: 'us-west-2' });
    expect(config.candidates.map((c) => c.name)).toEqual(['distill-micro']);
    expect(config.candidatesLeftOut).toEqual([
      {
        name: 'ft-micro',
        reason: expect.stringMatching(/Bedrock has no fine-tuning of Nova Micro in us-west-2 \(only in us-east-1\)/),
      },
    ]);
  });

  it('reads a configured list from -c JSON text or a cdk.json list, filling defaults by method', () => {
    const list = [
      {
        name: 'lite',
        method: 'fine-tuning',
        baseModelId: 'amazon.nova-lite-v1:0:300k',
        hyperParameters: { epochCount: 1, learningRateWarmupSteps: 0 },
      },
      { name: 'distill-teacher', method: 'distillation', promptVersion: 'teacher-v1' },
    ];
    for (const given of [JSON.stringify(list), list]) {
      expect(parseConfig({ candidates: given }).candidates).toEqual([
        {
          name: 'lite',
          method: 'fine-tuning',
          baseModelId: 'amazon.nova-lite-v1:0:300k',
          promptVersion: 'student-v3',
          hyperParameters: { epochCount: 1, learningRate: 1e-5, learningRateWarmupSteps: 0 },
        },
        {
          name: 'distill-teacher',
          method: 'distillation',
          baseModelId: 'amazon.nova-micro-v1:0:128k',
          promptVersion: 'teacher-v1',
        },
      ]);
    }
  });

  it.each([
    [
      'a bad name',
      [{ name: 'Fine Tuned', method: 'fine-tuning' }],
      /candidate 1: name "Fine Tuned" is invalid: give 1-16 lowercase/,
    ],
    ['a reserved name', [{ name: 'dataset', method: 'distillation' }], /candidate "dataset": the name is reserved/],
    [
      'the reused name',
      [{ name: 'given', method: 'distillation' }],
      /candidate "given": the name is reserved \(the model given with --reuse-model\)/,
    ],
    [
      'a name twice',
      [
        { name: 'a', method: 'distillation' },
        { name: 'a', method: 'fine-tuning' },
      ],
      /candidate "a" is listed twice: give each candidate its own name/,
    ],
    ['no method', [{ name: 'a' }], /candidate "a": method is missing: give "distillation" or "fine-tuning"/],
    [
      'an unknown field',
      [{ name: 'a', method: 'distillation', epochs: 2 }],
      /candidate "a": unknown field "epochs": remove it/,
    ],
    [
      'a base model no candidate can customize',
      [{ name: 'a', method: 'fine-tuning', baseModelId: 'us.amazon.nova-micro-v1:0' }],
      /candidate "a": baseModelId "us.amazon.nova-micro-v1:0" is not a base model a candidate can customize: give "amazon.nova-micro-v1:0:128k" \(Nova Micro\), "amazon.nova-lite-v1:0:300k" \(Nova Lite\)/,
    ],
    [
      'an unknown prompt version',
      [{ name: 'a', method: 'fine-tuning', promptVersion: 'student-v9' }],
      /candidate "a": promptVersion "student-v9" is unknown: give one of student-v1, student-v2, student-v3, teacher-v1/,
    ],
    [
      'the minimal prompt on distillation',
      [{ name: 'a', method: 'distillation', promptVersion: 'student-v3' }],
      /candidate "a": promptVersion student-v3 is a fine-tuned student's minimal prompt, but a distillation job's teacher answers the records' prompt itself.*give "student-v2" or "teacher-v1"/,
    ],
    [
      'hyperparameters on distillation',
      [{ name: 'a', method: 'distillation', hyperParameters: { epochCount: 2 } }],
      /candidate "a": hyperParameters are for fine-tuning only \(Bedrock distillation takes none\): remove them/,
    ],
    [
      'too many epochs',
      [{ name: 'a', method: 'fine-tuning', hyperParameters: { epochCount: 6 } }],
      /candidate "a": hyperParameters.epochCount 6 is outside Bedrock's range: give a whole number from 1 to 5 \(default 2\)/,
    ],
    [
      'a learning rate too high',
      [{ name: 'a', method: 'fine-tuning', hyperParameters: { learningRate: 0.001 } }],
      /candidate "a": hyperParameters.learningRate 0.001 is outside Bedrock's range: give a number from 0.000001 to 0.0001/,
    ],
    [
      'a warm-up too long',
      [{ name: 'a', method: 'fine-tuning', hyperParameters: { learningRateWarmupSteps: 101 } }],
      /candidate "a": hyperParameters.learningRateWarmupSteps 101 .* from 0 to 100 \(default 10; unset: training records \/ 640 for Micro, \/ 160 for Lite\)/,
    ],
    ['an empty list', [], /must list at least one candidate/],
  ])('refuses %s, naming the candidate, the field and the fix', (_what, list, message) => {
    const problem = onlyProblem({ candidates: JSON.stringify(list) });
    expect(problem).toMatch(/^candidates \(given: /);
    expect(problem).toMatch(message);
    expect(problem).not.toMatch(ZOD_WORDING);
  });

  it('refuses a configured candidate its Region cannot train, suggesting to remove it or change the Region', () => {
    const problem = onlyProblem({ region: 'us-west-2', candidates: '[{"name":"ft-micro","method":"fine-tuning"}]' });
    expect(problem).toMatch(
      /candidate "ft-micro": Bedrock has no fine-tuning of Nova Micro in us-west-2 \(only in us-east-1\): remove the candidate from the list, or set region to us-east-1/,
    );
  });

  it('refuses a studentModelId no candidate can customize, under studentModelId', () => {
    expect(onlyProblem({ studentModelId: 'meta.llama3-1-8b-instruct-v1:0:128k' })).toMatch(
      /^studentModelId \(given: .*\): is the base model of candidate "distill-micro", but no candidate can customize it/,
    );
  });

  it('says text that is not JSON is not valid JSON, with the expected shape', () => {
    expect(onlyProblem({ candidates: '[{name:a}]' })).toMatch(
      /^candidates \(given: .*\): is not valid JSON; give a JSON list, e\.g\. -c candidates=/,
    );
  });
});

describe("recommendedWarmupSteps (the Nova guide's rule)", () => {
  it('is training records / 640 for Micro, / 160 for Lite, rounded, within 0-100', () => {
    expect(recommendedWarmupSteps('amazon.nova-micro-v1:0:128k', 10_000)).toBe(16);
    expect(recommendedWarmupSteps('amazon.nova-lite-v1:0:300k', 10_000)).toBe(63);
    expect(recommendedWarmupSteps('amazon.nova-lite-v1:0:300k', 20_000)).toBe(100);
    expect(recommendedWarmupSteps('amazon.nova-micro-v1:0:128k', 100)).toBe(0);
  });
});
