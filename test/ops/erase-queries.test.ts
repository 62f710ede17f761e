import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { toRecord } from '../../lambda/core/dataset-record';
import { LIVE_QUERIES_TAG, readProductionLines } from '../../lambda/core/production-records';
import { eraseQueries, queryHash, runEraseQueries } from '../../lib/ops/erase-queries';
import { VersionedS3 } from '../helpers/versioned-s3';

const BUCKET = 'intent-router-dataset';
const W = { visual: 0.1, audio: 0.7, transcription: 0.1, metadata: 0.1 };
const line = (query: string) => JSON.stringify(toRecord(query, W));
const jsonl = (...queries: string[]) => `${queries.map(line).join('\n')}\n`;

/** The query a user asks to erase, and others that must stay. */
const ERASED = 'Jane Doe wedding video in Springfield';
const OTHER = 'dog barking loudly';
const THIRD = 'red car on a road';
const TAGS = { [LIVE_QUERIES_TAG.key]: LIVE_QUERIES_TAG.value };

let s3: VersionedS3;
const client = new S3Client({ region: 'us-east-1' });

/** A bucket with the erased query in every kind of copy, some in old versions or behind delete markers only. */
function seed(): void {
  s3.put(BUCKET, 'production/records/date=2026-11-20/2026-11-20T10-00-00-000Z-a.jsonl', jsonl(ERASED, OTHER));
  s3.put(BUCKET, 'production/records/date=2026-11-25/2026-11-25T10-00-00-000Z-b.jsonl', jsonl(THIRD));
  s3.put(BUCKET, 'production/records/date=2026-11-26/2026-11-26T10-00-00-000Z-c.jsonl', jsonl(ERASED));
  s3.put(BUCKET, 'runs/run-1/production/selection.jsonl', jsonl(ERASED, OTHER, THIRD), TAGS);
  s3.put(BUCKET, 'runs/run-1/dataset/test-production.jsonl', jsonl(ERASED), TAGS);
  // A training file whose older version held the query, its current one not.
  s3.put(BUCKET, 'runs/run-1/dataset/train.jsonl', jsonl(ERASED, OTHER));
  s3.put(BUCKET, 'runs/run-1/dataset/train.jsonl', jsonl(OTHER));
  // Evaluation answers, and a report quoting the query (HTML-escaped nowhere here, JSON in report.json).
  s3.put(
    BUCKET,
    'runs/run-1/candidate-a/evaluation/answers.jsonl',
    `${JSON.stringify({ prompt: ERASED, modelResponses: [{ response: '{"audio":0.7}' }] })}\n${JSON.stringify({ prompt: OTHER })}\n`,
  );
  s3.put(BUCKET, 'runs/run-1/report.md', `# Run run-1\n\nWorst query: "${ERASED}"\n`);
  s3.put(BUCKET, 'runs/run-1/report.json', JSON.stringify({ examples: [ERASED.toLowerCase()] }));
  s3.put(BUCKET, 'runs/run-2/report.md', '# Run run-2\n\nNothing personal here: visual audio metadata.\n');
  // Deleted (delete marker on top) but its version still holds the query.
  s3.put(BUCKET, 'runs/run-0/production/selection.jsonl', jsonl(ERASED), TAGS);
  s3.remove(BUCKET, 'runs/run-0/production/selection.jsonl');
}

const holdsErased = () => s3.allBodies(BUCKET).filter((b) => b.body.toLowerCase().includes('jane doe'));

beforeEach(() => {
  s3 = new VersionedS3();
  seed();
});
afterEach(() => s3.restore());

describe('eraseQueries over a versioned bucket', () => {
  it('--contains: every version of every copy is gone; other lines, tags and files stay', async () => {
    const outcome = await eraseQueries(client, BUCKET, { kind: 'contains', text: 'jane  DOE' });
    expect(outcome.failed).toEqual([]);
    expect(holdsErased()).toEqual([]);
    // No delete marker is left where nothing of the key remains.
    expect(Object.keys(s3.snapshot(BUCKET))).not.toContain('runs/run-0/production/selection.jsonl');
    expect(s3.current(BUCKET, 'runs/run-1/production/selection.jsonl')).toBe(jsonl(OTHER, THIRD));
    expect(s3.tags(BUCKET, 'runs/run-1/production/selection.jsonl')).toEqual(TAGS);
    expect(s3.current(BUCKET, 'production/records/date=2026-11-20/2026-11-20T10-00-00-000Z-a.jsonl')).toBe(
      jsonl(OTHER),
    );
    expect(s3.current(BUCKET, 'runs/run-1/dataset/train.jsonl')).toBe(jsonl(OTHER));
    expect(s3.current(BUCKET, 'runs/run-1/candidate-a/evaluation/answers.jsonl')).toBe(
      `${JSON.stringify({ prompt: OTHER })}\n`,
    );
    expect(s3.current(BUCKET, 'runs/run-2/report.md')).toContain('Nothing personal');
    expect(s3.currentKeys(BUCKET)).not.toEqual(expect.arrayContaining(['runs/run-1/report.md']));
    expect(outcome.queries.get(queryHash(ERASED))).toBeGreaterThanOrEqual(5);
  });

  it('--query-hash: the query with that hash, whatever its case and spacing, and nothing else', async () => {
    const outcome = await eraseQueries(client, BUCKET, {
      kind: 'query-hash',
      hash: queryHash(`  ${ERASED.toUpperCase()} `),
    });
    expect(outcome.failed).toEqual([]);
    expect(holdsErased()).toEqual([]);
    expect(s3.current(BUCKET, 'runs/run-1/production/selection.jsonl')).toBe(jsonl(OTHER, THIRD));
  });

  it('--before: the records of the days before, whole, and their copies in runs; later days stay', async () => {
    await eraseQueries(client, BUCKET, { kind: 'before', day: '2026-11-21' });
    const keys = Object.keys(s3.snapshot(BUCKET));
    expect(keys).not.toContain('production/records/date=2026-11-20/2026-11-20T10-00-00-000Z-a.jsonl');
    expect(keys).toContain('production/records/date=2026-11-25/2026-11-25T10-00-00-000Z-b.jsonl');
    // Both queries of 2026-11-20 leave the runs' copies; the later day's query stays.
    expect(s3.current(BUCKET, 'runs/run-1/production/selection.jsonl')).toBe(jsonl(THIRD));
  });

  it('a dry run lists the steps and deletes nothing', async () => {
    const before = JSON.stringify(s3.snapshot(BUCKET));
    const outcome = await eraseQueries(client, BUCKET, { kind: 'contains', text: 'jane doe' }, { dryRun: true });
    expect(outcome.done.length).toBeGreaterThan(5);
    expect(JSON.stringify(s3.snapshot(BUCKET))).toBe(before);
    expect(s3.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('a run started afterwards reads only current objects, which no longer hold the query', async () => {
    await eraseQueries(client, BUCKET, { kind: 'contains', text: 'jane doe' });
    // What Plan does: list current objects of the production days, read each (no VersionId).
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'production/records/' }));
    const queries: string[] = [];
    for (const { Key } of listed.Contents ?? []) {
      const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      for (const l of readProductionLines((await object.Body?.transformToString()) ?? ''))
        if (l.ok) queries.push(l.query);
    }
    expect(queries.sort()).toEqual([OTHER, THIRD]);
  });
});

describe('npm run erase-queries (runEraseQueries)', () => {
  const cfn = mockClient(CloudFormationClient);
  beforeEach(() => {
    cfn.reset();
    cfn.on(DescribeStacksCommand).resolves({
      $metadata: { httpStatusCode: 200 },
      Stacks: [
        {
          StackName: 'IntentRouter-dev-Pipeline',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date('2026-11-01T00:00:00.000Z'),
          Outputs: [
            { OutputKey: 'DatasetBucketName', OutputValue: BUCKET },
            {
              OutputKey: 'StateMachineArn',
              OutputValue: 'arn:aws:states:us-east-1:123456789012:stateMachine:IntentRouter-dev-Pipeline',
            },
          ],
        },
      ],
    });
  });
  afterAll(() => cfn.restore());
  const clients = () => ({ s3: client, cfn: new CloudFormationClient({ region: 'us-east-1' }) });

  it('prints what it erased and exits 0', async () => {
    const { text, exitCode } = await runEraseQueries(['--env', 'dev', '--contains', 'jane doe'], clients, {});
    expect(exitCode).toBe(0);
    expect(text).toMatch(/erased {2}runs\/run-1\/production\/selection\.jsonl rewritten without 1 line/);
    expect(text).toContain(queryHash(ERASED));
    expect(text).toMatch(/\d+ done, 0 failed\./);
  });

  it('a failed deletion is printed and exits 1, and the rest is still erased', async () => {
    s3.failingDeletes.add('runs/run-1/report.md');
    const { text, exitCode } = await runEraseQueries(['--env', 'dev', '--contains', 'jane doe'], clients, {});
    expect(exitCode).toBe(1);
    expect(text).toMatch(/FAILED {2}runs\/run-1\/report\.md version v\d+ — Access denied/);
    expect(text).toMatch(/1 failed: copies are left, run it again\./);
    expect(holdsErased().map((b) => b.key)).toEqual(['runs/run-1/report.md']);
  });

  it('--dry-run prints "would erase" and the query hashes, and changes nothing', async () => {
    const before = JSON.stringify(s3.snapshot(BUCKET));
    const { text, exitCode } = await runEraseQueries(
      ['--env', 'dev', '--query-hash', queryHash(ERASED), '--dry-run'],
      clients,
      {},
    );
    expect(exitCode).toBe(0);
    expect(text).toContain('would erase');
    expect(text).toContain(queryHash(ERASED));
    expect(text).toContain('dry run: nothing changed');
    expect(JSON.stringify(s3.snapshot(BUCKET))).toBe(before);
  });
});
