import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { toRecord } from '../../lambda/core/dataset-record';
import { loadIamActions } from '../../lib/audit/iam-actions';
import { OPERATOR_COMMANDS, renderOperatorCommands, unrealOperatorActions } from '../../lib/audit/operator-needs';
import { eraseQueries } from '../../lib/ops/erase-queries';
import { VersionedS3 } from '../helpers/versioned-s3';

/** The IAM report's operator section: real actions, and every S3 call `npm run erase-queries` makes is covered. */

const erase = OPERATOR_COMMANDS.find((c) => c.command === 'npm run erase-queries');
const listed = new Set(erase?.needs.flatMap((n) => n.actions) ?? []);

it('lists only real IAM actions', () => {
  const catalog = loadIamActions();
  expect(unrealOperatorActions((a) => catalog.matching(a).length > 0)).toEqual([]);
});

it('renders a section per command', () => {
  const text = renderOperatorCommands().join('\n');
  expect(text).toContain('## Operator commands');
  expect(text).toContain('### `npm run erase-queries`');
  expect(text).toContain('`s3:DeleteObjectVersion`');
});

it('covers the IAM action of every request erase-queries sends (by its real authorization: versions, tags)', async () => {
  const s3 = new VersionedS3();
  try {
    const bucket = 'b';
    const line = (q: string) => JSON.stringify(toRecord(q, { visual: 1, audio: 0, transcription: 0, metadata: 0 }));
    s3.put(bucket, 'runs/r/production/selection.jsonl', `${line('erase me')}\n${line('keep me')}\n`, { t: 'v' });
    s3.put(bucket, 'runs/r/report.md', 'erase me');
    await eraseQueries(new S3Client({ region: 'us-east-1' }), bucket, { kind: 'contains', text: 'erase me' });
    const needed = new Set<string>();
    for (const call of s3.mock.calls()) {
      const command: unknown = call.args[0];
      if (command instanceof ListObjectVersionsCommand) needed.add('s3:ListBucketVersions');
      else if (command instanceof GetObjectCommand)
        needed.add(command.input.VersionId ? 's3:GetObjectVersion' : 's3:GetObject');
      else if (command instanceof GetObjectTaggingCommand)
        needed.add(command.input.VersionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging');
      else if (command instanceof PutObjectCommand) {
        needed.add('s3:PutObject');
        if (command.input.Tagging) needed.add('s3:PutObjectTagging');
      } else if (command instanceof DeleteObjectCommand)
        needed.add(command.input.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject');
      else needed.add('an unmapped S3 command');
    }
    expect(needed.size).toBeGreaterThanOrEqual(6);
    expect([...needed].filter((a) => !listed.has(a))).toEqual([]);
  } finally {
    s3.restore();
  }
});
