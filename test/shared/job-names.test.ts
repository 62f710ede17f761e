import fc from 'fast-check';
import { PROJECT } from '../../lib/naming';
import { CANDIDATE_NAME_PATTERN } from '../../lambda/core/candidates';
import { RESERVED_RUN_FOLDERS, RUN_ID_PATTERN, runKeys } from '../../lambda/core/runs';
import {
  boundedName,
  incumbentEvaluationNames,
  EVALUATED_MODELS,
  NAME_RULES,
  PROJECT_TAG_VALUE,
  resourceTags,
  taggedForEnvironment,
  tagValue,
  trainingNames,
  type NameKind,
  type TrainingNames,
} from '../../lambda/core/job-names';

const KIND_OF: Record<string, NameKind> = {
  customizationJobName: 'customizationJobName',
  customModelName: 'customModelName',
  customizationToken: 'clientRequestToken',
  deploymentName: 'deploymentName',
  deploymentToken: 'clientRequestToken',
};

function expectValid(names: ReturnType<typeof trainingNames>) {
  for (const [field, kind] of Object.entries(KIND_OF)) {
    const value = names[field as keyof typeof names] as string;
    const rule = NAME_RULES[kind];
    expect({ field, ok: rule.pattern.test(value) && value.length <= rule.maxLength }).toEqual({ field, ok: true });
  }
  for (const model of EVALUATED_MODELS) {
    expect(names.evaluationJobName[model]).toMatch(NAME_RULES.evaluationJobName.pattern);
    expect(names.evaluationJobName[model].length).toBeLessThanOrEqual(63);
    expect(names.evaluationToken[model]).toMatch(NAME_RULES.clientRequestToken.pattern);
  }
}

describe('trainingNames', () => {
  it('derives readable names from the environment and the run', () => {
    const names = trainingNames('dev', 'run-2026-11-25');
    expect(names.customizationJobName).toBe('ir-dev-run-2026-11-25-distillation');
    expect(names.customModelName).toBe('ir-dev-run-2026-11-25-student');
    expect(names.evaluationJobName).toEqual({
      student: 'ir-dev-run-2026-11-25-eval-student',
      baseline: 'ir-dev-run-2026-11-25-eval-baseline',
    });
    expectValid(names);
  });

  it('is deterministic, so a retried step derives the same job name and token', () => {
    expect(trainingNames('prod', 'run-1')).toEqual(trainingNames('prod', 'run-1'));
  });

  it('differs between runs and between environments', () => {
    const a = trainingNames('prod', 'run-1');
    expect(trainingNames('prod', 'run-2').customizationToken).not.toBe(a.customizationToken);
    expect(trainingNames('dev', 'run-1').customizationJobName).not.toBe(a.customizationJobName);
  });

  it('stays within every documented pattern at the longest env name and run id', () => {
    const longEnv = 'a123456789abcdef'; // 16 characters
    const longRun = `r${'1'.repeat(39)}`; // 40 characters
    const names = trainingNames(longEnv, longRun);
    expectValid(names);
    // Two long runs that share a head still get different (hashed) names.
    const other = trainingNames(longEnv, `r${'1'.repeat(38)}2`);
    expect(other.customizationJobName).not.toBe(names.customizationJobName);
  });

  it('accepts every allowed env name shape, including repeated and trailing dashes', () => {
    for (const env of ['a', 'a--b', 'x-', 'dev-2', 'e0-0-0-0-0-0-0-0']) {
      for (const run of ['r', 'run-2026-11-25', 'a1b2c3d4e5-f6g7h8i9j0-k1l2m3n4o5-p6q7r8s']) {
        expectValid(trainingNames(env, run));
      }
    }
  });

  it('refuses an invalid run id with a clear message', () => {
    expect(() => trainingNames('dev', 'Run_1')).toThrow(/runId "Run_1" is invalid/);
  });
});

/** Every name and token of one candidate, flat (the evaluation names per model included). */
const allNames = (names: TrainingNames): string[] => [
  names.customizationJobName,
  names.customModelName,
  names.customizationToken,
  names.deploymentName,
  names.deploymentToken,
  ...Object.values(names.evaluationJobName),
  ...Object.values(names.evaluationToken),
];

describe('trainingNames for a candidate', () => {
  it('puts the candidate in every name and token, readable when short', () => {
    const names = trainingNames('dev', 'run-1', 'ft-micro');
    expect(names).toEqual({
      customizationJobName: 'ir-dev-run-1--ft-micro-training',
      customModelName: 'ir-dev-run-1_ft-micro-student',
      customizationToken: 'ir-dev-run-1--ft-micro-training',
      deploymentName: 'ir-dev-run-1_ft-micro-student',
      deploymentToken: 'ir-dev-run-1--ft-micro-deployment',
      evaluationJobName: {
        student: 'ir-dev-run-1--ft-micro-eval-student',
        baseline: 'ir-dev-run-1--ft-micro-eval-baseline',
      },
      evaluationToken: {
        student: 'ir-dev-run-1--ft-micro-eval-student',
        baseline: 'ir-dev-run-1--ft-micro-eval-baseline',
      },
    });
    expectValid(names);
  });

  it('keeps the names of a run without candidates, and the incumbent’s judge job run-scoped', () => {
    expect(trainingNames('dev', 'run-1').customizationJobName).toBe('ir-dev-run-1-distillation');
    expect(trainingNames('dev', 'run-1').deploymentName).toBe('ir-dev-run-1-student');
    expect(incumbentEvaluationNames('dev', 'run-1').jobName).toBe('ir-dev-run-1-eval-incumbent');
  });

  it('refuses a candidate name that breaks the pattern or takes a run folder, saying what to do', () => {
    expect(() => trainingNames('dev', 'run-1', 'FT_micro')).toThrow(/candidate name "FT_micro" is invalid: use 1-16/);
    expect(() => trainingNames('dev', 'run-1', 'dataset')).toThrow(/candidate name "dataset" is reserved/);
  });

  // Generators over everything config and Preflight accept: env names (slugged), run ids, candidate names.
  const envName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((e) => /[a-z0-9]$/.test(e));
  const runId = fc.stringMatching(RUN_ID_PATTERN);
  const candidate = fc
    .stringMatching(CANDIDATE_NAME_PATTERN)
    .filter((c) => !(RESERVED_RUN_FOLDERS as readonly string[]).includes(c));

  it('stays within every documented pattern and length for any env name, run id and candidate name', () => {
    fc.assert(
      fc.property(envName, runId, candidate, (env, run, name) => {
        const names = trainingNames(env, run, name);
        expectValid(names);
        expect(names.evaluationJobName.student).not.toBe(names.evaluationJobName.baseline);
      }),
      { numRuns: 500 },
    );
    // The longest of each: every name is hashed into its limit.
    expectValid(trainingNames('a123456789abcdef', `r${'1'.repeat(39)}`, `c${'1'.repeat(15)}`));
  });

  it('never gives two candidates, of the same run or of two runs, a common name or token', () => {
    fc.assert(
      fc.property(envName, runId, candidate, runId, candidate, (env, runA, a, runB, b) => {
        fc.pre(runA !== runB || a !== b);
        const left = new Set(allNames(trainingNames(env, runA, a)));
        for (const name of allNames(trainingNames(env, runB, b))) expect(left.has(name)).toBe(false);
      }),
      { numRuns: 500 },
    );
    // Dash-joined parts that read the same: run-1 + a-b and run-1-a + b.
    const left = new Set(allNames(trainingNames('dev', 'run-1', 'a-b')));
    for (const name of allNames(trainingNames('dev', 'run-1-a', 'b'))) expect(left.has(name)).toBe(false);
    // Long names that share their head differ by their hash.
    const longRun = `r${'1'.repeat(39)}`;
    const hashed = new Set(allNames(trainingNames('dev', longRun, 'distill-micro-aa')));
    for (const name of allNames(trainingNames('dev', longRun, 'distill-micro-ab')))
      expect(hashed.has(name)).toBe(false);
  });

  it('never gives a candidate a name of a run without candidates or of the incumbent’s judge job', () => {
    fc.assert(
      fc.property(envName, runId, candidate, runId, (env, run, name, otherRun) => {
        const theirs = new Set([
          ...allNames(trainingNames(env, otherRun)),
          ...Object.values(incumbentEvaluationNames(env, otherRun)),
        ]);
        for (const n of allNames(trainingNames(env, run, name))) expect(theirs.has(n)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('runKeys for candidates and prompt versions', () => {
  it('keeps one dataset per run, one training file per prompt version, and each candidate under its own folder', () => {
    const keys = runKeys('run-1');
    expect(keys.train).toBe('runs/run-1/dataset/train.jsonl');
    expect(keys.trainFor('student-v3')).toBe('runs/run-1/dataset/train-student-v3.jsonl');
    const ft = keys.candidate('ft-micro');
    expect(ft).toMatchObject({
      prefix: 'runs/run-1/ft-micro/',
      trainingOutputPrefix: 'runs/run-1/ft-micro/training/',
      evaluationPrefix: 'runs/run-1/ft-micro/evaluation/',
      evaluation: {
        metrics: 'runs/run-1/ft-micro/evaluation/metrics.json',
        outputPrefix: 'runs/run-1/ft-micro/evaluation/output/',
      },
    });
    expect(ft.evaluation.answers('student')).toBe('runs/run-1/ft-micro/evaluation/answers/student.jsonl');
    expect(ft.evaluation.productionAnswers('student')).toBe(
      'runs/run-1/ft-micro/evaluation/answers/production/student.jsonl',
    );
    expect(ft.evaluation.dataset('baseline')).toBe('runs/run-1/ft-micro/evaluation/datasets/baseline.jsonl');
  });

  it('reserves every folder the run itself writes, so that no candidate folder mixes with them', () => {
    const keys = runKeys('run-1');
    const runOwn = [
      keys.owner,
      keys.productionSelection,
      keys.calibration,
      keys.shardPlan,
      keys.shard(1),
      keys.train,
      keys.trainFor('student-v2'),
      keys.test,
      keys.productionTest,
      keys.manifest,
      keys.distillationPrefix,
      keys.evaluation.metrics,
      keys.evaluation.outputPrefix,
      keys.reportJson,
      keys.reportMarkdown,
      keys.reportHtml,
    ];
    for (const key of runOwn) {
      const first = key.slice(keys.prefix.length).split('/')[0] ?? '';
      // A file stem (report.json → report) or a folder: either way reserved.
      expect(RESERVED_RUN_FOLDERS).toContain(first.split('.')[0]);
    }
    for (const reserved of RESERVED_RUN_FOLDERS) {
      expect(() => keys.candidate(reserved)).toThrow(new RegExp(`"${reserved}" is reserved.*choose another name`));
    }
  });

  it('refuses a prompt version that cannot name a file', () => {
    expect(() => runKeys('run-1').trainFor('../x')).toThrow(/prompt version "..\/x" cannot name a training file/);
  });
});

describe('boundedName', () => {
  it('keeps short names and hashes long ones into the limit', () => {
    expect(boundedName('short', 10)).toBe('short');
    const long = boundedName('x'.repeat(100), 63);
    expect(long).toHaveLength(63);
    expect(long).toMatch(/^x+-[0-9a-f]{8}$/);
  });
});

describe('resourceTags', () => {
  it("tags with the stacks' project value, the environment and the run", () => {
    expect(PROJECT_TAG_VALUE).toBe(PROJECT);
    expect(resourceTags('dev', 'run-1')).toEqual([
      { key: 'Project', value: PROJECT },
      { key: 'Environment', value: 'dev' },
      { key: 'RunId', value: 'run-1' },
    ]);
  });
});

describe('resourceTags with a candidate', () => {
  it('adds the Candidate tag, which tagValue reads back', () => {
    const tags = resourceTags('dev', 'run-1', 'ft-micro');
    expect(tags).toContainEqual({ key: 'Candidate', value: 'ft-micro' });
    expect(tagValue(tags, 'RunId')).toBe('run-1');
    expect(taggedForEnvironment(tags, 'dev')).toBe(true);
  });
});

describe('taggedForEnvironment', () => {
  it('recognises only this project’s resources of exactly this environment', () => {
    expect(taggedForEnvironment(resourceTags('dev', 'run-1'), 'dev')).toBe(true);
    // Names are ambiguous (ir-dev- also begins dev-b's names); the Environment tag is not.
    expect(taggedForEnvironment(resourceTags('dev-b', 'run-1'), 'dev')).toBe(false);
    expect(taggedForEnvironment([{ key: 'Environment', value: 'dev' }], 'dev')).toBe(false);
    expect(taggedForEnvironment([], 'dev')).toBe(false);
  });
});
