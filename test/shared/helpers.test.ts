import { ThrottlingException, ValidationException } from '@aws-sdk/client-bedrock-runtime';
import { isRetryable, withRetry } from '../../lambda/core/bedrock';
import { mapWithConcurrency } from '../../lambda/core/concurrency';
import { isCustomModelDeploymentArn, parseModelId } from '../../lambda/core/model-ids';
import { costUsd, DEFAULT_PRICES, priceFor } from '../../lambda/core/prices';
import { assertRunId, runKeys } from '../../lambda/core/runs';
import { teacherPrompt } from '../../lambda/core/teacher-prompt';
import { CURRENT_STUDENT_FORMAT } from '../../lambda/core/student-format';

const throttle = () => new ThrottlingException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } });

describe('withRetry', () => {
  it('retries throttling with growing jittered delays, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw throttle();
        return 'ok';
      },
      { sleep: async (ms) => void delays.push(ms), random: () => 1, baseDelayMs: 100 },
    );
    expect(result).toBe('ok');
    expect(delays).toEqual([200, 400]);
  });

  it('does not retry an error retrying cannot fix', async () => {
    let calls = 0;
    const failing = withRetry(async () => {
      calls++;
      throw new ValidationException({ message: 'bad', $metadata: {} });
    });
    await expect(failing).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls++;
        throw throttle();
      },
      { maxAttempts: 4, sleep: async () => undefined },
    );
    await expect(failing).rejects.toBeInstanceOf(ThrottlingException);
    expect(calls).toBe(4);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, x));
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
    await expect(mapWithConcurrency([1], 0, async (x) => x)).rejects.toThrow(RangeError);
  });
});

describe('model ids and prices', () => {
  it.each([
    ['us.amazon.nova-premier-v1:0', 'amazon.nova-premier-v1:0', ['us-east-1', 'us-east-2', 'us-west-2']],
    ['amazon.nova-micro-v1:0:128k', 'amazon.nova-micro-v1:0', undefined],
    [
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0',
      'amazon.nova-pro-v1:0',
      ['us-east-1', 'us-east-2', 'us-west-2'],
    ],
    ['arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0', 'amazon.nova-pro-v1:0', undefined],
  ])('%s → %s', (id, foundation, regions) => {
    const parsed = parseModelId(id);
    expect(parsed.foundationModelId).toBe(foundation);
    expect(parsed.profile?.regions).toEqual(regions);
  });

  it('finds prices through profiles and variants, and computes cost', () => {
    expect(priceFor('us.amazon.nova-premier-v1:0', DEFAULT_PRICES)).toEqual({ inputPer1M: 2.5, outputPer1M: 12.5 });
    expect(priceFor('amazon.nova-micro-v1:0:128k', DEFAULT_PRICES)?.inputPer1M).toBe(0.035);
    expect(priceFor('unknown.model-v1:0', DEFAULT_PRICES)).toBeUndefined();
    expect(costUsd({ inputTokens: 1_000_000, outputTokens: 2_000_000 }, { inputPer1M: 1, outputPer1M: 5 })).toBe(11);
  });

  it('recognises custom model deployment ARNs only', () => {
    expect(
      isCustomModelDeploymentArn('arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456'),
    ).toBe(true);
    expect(isCustomModelDeploymentArn('us.amazon.nova-micro-v1:0')).toBe(false);
    // Bedrock's pattern: the deployment id is exactly 12 lower-case letters or digits.
    expect(isCustomModelDeploymentArn('arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123')).toBe(
      false,
    );
  });
});

describe('runs and prompts', () => {
  it('lays every run out under its own prefix', () => {
    const keys = runKeys('run-1');
    expect(keys.train).toBe('runs/run-1/dataset/train.jsonl');
    expect(keys.shard(7)).toBe('runs/run-1/shards/shard-00007.jsonl');
    expect(
      Object.values(keys)
        .filter((v) => typeof v === 'string')
        .every((k) => k.startsWith('runs/run-1/')),
    ).toBe(true);
  });

  it.each(['', 'Run1', 'a--b', 'x'.repeat(41), '../etc', 'a_b'])('rejects the run id %p with the rule', (id) => {
    expect(() => assertRunId(id)).toThrow(/lowercase letters, digits and single dashes/);
  });

  it('keeps the student prompt short and free of the strings Nova jobs reject', () => {
    // Every routed query pays for it: 38 tokens with o200k_base (test/shared/token-counts.test.ts measures it).
    expect(CURRENT_STUDENT_FORMAT.prompt.length).toBeLessThanOrEqual(160);
    for (const p of [CURRENT_STUDENT_FORMAT.prompt, teacherPrompt(), teacherPrompt(true)]) {
      for (const bad of ['User:', 'Bot:', 'Assistant:', 'System:', '<image>', '<video>', '[EOS]'])
        expect(p).not.toContain(bad);
    }
    expect(teacherPrompt(true)).toContain('"reasoning"');
    expect(teacherPrompt()).not.toContain('"reasoning"');
  });
});
