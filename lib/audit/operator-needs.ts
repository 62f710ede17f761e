/**
 * What the operator commands (`npm run …`, run with the operator's own credentials, not a role of the stacks) need
 * from IAM, for the IAM report's "Operator commands" section: the account admin grants these to whoever runs them.
 * Each action is checked against the real IAM action list like the stacks' statements.
 */

export interface OperatorNeed {
  readonly actions: readonly string[];
  /** The resources, as an admin writes them in a policy (`<env>`, `<bucket>`, … to fill in). */
  readonly resources: readonly string[];
  readonly why: string;
}

export interface OperatorCommand {
  readonly command: string;
  readonly needs: readonly OperatorNeed[];
}

const PIPELINE_STACK = 'arn:aws:cloudformation:<region>:<account>:stack/IntentRouter-<env>-Pipeline/*';
const BUCKET = 'arn:aws:s3:::<dataset bucket>';

export const OPERATOR_COMMANDS: readonly OperatorCommand[] = [
  {
    command: 'npm run erase-queries',
    needs: [
      {
        actions: ['cloudformation:DescribeStacks'],
        resources: [PIPELINE_STACK],
        why: 'finds the dataset bucket in the Pipeline stack’s outputs',
      },
      {
        actions: ['s3:ListBucketVersions'],
        resources: [BUCKET],
        why: 'lists every version and delete marker under production/ and runs/',
      },
      {
        actions: ['s3:GetObjectVersion', 's3:GetObjectTagging'],
        resources: [`${BUCKET}/production/*`, `${BUCKET}/runs/*`],
        why: 'reads each version; keeps a rewritten file’s tags (its expiry rule matches them)',
      },
      {
        actions: ['s3:PutObject', 's3:PutObjectTagging'],
        resources: [`${BUCKET}/production/*`, `${BUCKET}/runs/*`],
        why: 'writes a JSONL file again without the erased lines',
      },
      {
        actions: ['s3:DeleteObjectVersion'],
        resources: [`${BUCKET}/production/*`, `${BUCKET}/runs/*`],
        why: 'deletes the versions (and delete markers) that held an erased query, for good',
      },
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['<dataset key ARN>'],
        why: 'the bucket is SSE-KMS: reading needs Decrypt, writing GenerateDataKey',
      },
    ],
  },
];

/** The operator commands' actions that are not real IAM actions (none, or the report fails). */
export function unrealOperatorActions(isAction: (action: string) => boolean): string[] {
  return OPERATOR_COMMANDS.flatMap((c) => c.needs.flatMap((n) => n.actions)).filter((a) => !isAction(a));
}

/** The report's Markdown section. */
export function renderOperatorCommands(commands: readonly OperatorCommand[] = OPERATOR_COMMANDS): string[] {
  const lines = [
    '## Operator commands',
    '',
    'Run with the operator’s own credentials (no role of the stacks): grant these to whoever runs them.',
    '',
  ];
  for (const { command, needs } of commands) {
    lines.push(`### \`${command}\``, '', '| actions | resources | why |', '| --- | --- | --- |');
    for (const n of needs) {
      lines.push(
        `| ${n.actions.map((a) => `\`${a}\``).join(', ')} | ${n.resources.map((r) => `\`${r}\``).join(', ')} | ${n.why} |`,
      );
    }
    lines.push('');
  }
  return lines;
}
