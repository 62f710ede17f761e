import { PROJECT } from '../../lib/naming';
import {
  boundedName,
  EVALUATED_MODELS,
  NAME_RULES,
  PROJECT_TAG_VALUE,
  resourceTags,
  taggedForEnvironment,
  trainingNames,
  type NameKind,
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

describe('taggedForEnvironment', () => {
  it('recognises only this project’s resources of exactly this environment', () => {
    expect(taggedForEnvironment(resourceTags('dev', 'run-1'), 'dev')).toBe(true);
    // Names are ambiguous (ir-dev- also begins dev-b's names); the Environment tag is not.
    expect(taggedForEnvironment(resourceTags('dev-b', 'run-1'), 'dev')).toBe(false);
    expect(taggedForEnvironment([{ key: 'Environment', value: 'dev' }], 'dev')).toBe(false);
    expect(taggedForEnvironment([], 'dev')).toBe(false);
  });
});
