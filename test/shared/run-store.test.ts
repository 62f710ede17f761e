import { S3Client } from '@aws-sdk/client-s3';
import { claimRun, runOwnerKey, s3RunStore, type RunStore } from '../../lambda/core/run-store';
import { InMemoryS3 } from '../helpers/aws-mocks';

const BUCKET = 'dataset-bucket';
const OWNER = {
  runId: 'run-1',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:IntentRouter-dev-Pipeline:run-1',
  startTime: '2026-11-25T10:00:00.000Z',
};

let s3: InMemoryS3;
let store: RunStore;
beforeEach(() => {
  s3 = new InMemoryS3();
  store = s3RunStore(new S3Client({ region: 'us-east-1' }), BUCKET);
});
afterEach(() => s3.restore());

describe('claimRun', () => {
  it('writes runs/<runId>/owner.json once, conditionally, for the first execution', async () => {
    expect(runOwnerKey('run-1')).toBe('runs/run-1/owner.json');
    expect(await claimRun(store, OWNER)).toEqual({ owned: true, firstClaim: true, key: 'runs/run-1/owner.json' });
    expect(JSON.parse(s3.get(BUCKET, 'runs/run-1/owner.json') ?? '{}')).toEqual(OWNER);
    expect(s3.puts).toEqual([{ bucket: BUCKET, key: 'runs/run-1/owner.json', ifNoneMatch: '*' }]);
  });

  it('lets the same execution claim again (a retry or a redrive keeps the ARN and the start time)', async () => {
    await claimRun(store, OWNER);
    expect(await claimRun(store, { ...OWNER })).toEqual({
      owned: true,
      firstClaim: false,
      key: 'runs/run-1/owner.json',
    });
    // The same instant written with another precision is still the same execution.
    expect(await claimRun(store, { ...OWNER, startTime: '2026-11-25T10:00:00Z' })).toMatchObject({ owned: true });
  });

  it('refuses a new execution that reuses the name, and so the ARN, after the history expired', async () => {
    await claimRun(store, OWNER);
    const reused = { ...OWNER, startTime: '2027-03-01T08:00:00.000Z' };
    expect(await claimRun(store, reused)).toEqual({ owned: false, key: 'runs/run-1/owner.json', owner: OWNER });
    expect(JSON.parse(s3.get(BUCKET, 'runs/run-1/owner.json') ?? '{}')).toEqual(OWNER);
  });

  it('refuses when the owner record has no start time to compare', async () => {
    s3.set(BUCKET, 'runs/run-1/owner.json', JSON.stringify({ runId: 'run-1', executionId: OWNER.executionId }));
    expect(await claimRun(store, OWNER)).toMatchObject({ owned: false });
  });

  it('refuses another execution of the same name and returns the owner, changing nothing', async () => {
    await claimRun(store, OWNER);
    const other = { ...OWNER, executionId: `${OWNER.executionId}-recreated` };
    expect(await claimRun(store, other)).toEqual({ owned: false, key: 'runs/run-1/owner.json', owner: OWNER });
    expect(JSON.parse(s3.get(BUCKET, 'runs/run-1/owner.json') ?? '{}')).toEqual(OWNER);
  });

  it('treats an unreadable owner record as taken', async () => {
    s3.set(BUCKET, 'runs/run-1/owner.json', '{"executionId": 7}');
    expect(await claimRun(store, OWNER)).toEqual({ owned: false, key: 'runs/run-1/owner.json', owner: undefined });
  });

  it('refuses a run id that is not one', async () => {
    await expect(claimRun(store, { ...OWNER, runId: '../x' })).rejects.toThrow(/runId "..\/x" is invalid/);
  });
});
