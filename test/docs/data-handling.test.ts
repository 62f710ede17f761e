import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { synth } from '../helpers/app';

/**
 * docs/data-handling.md's table of who can read live queries is the synthesized IAM, not a description of it: the
 * roles whose identity policies allow s3:GetObject on the dataset bucket, sqs:ReceiveMessage on the shadow queues,
 * or kms:Decrypt with the keys that encrypt them. A grant added or removed without updating the page fails here.
 */

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}
interface Resource {
  readonly Type: string;
  readonly Properties: { PolicyDocument?: { Statement: Statement[] }; Roles?: { Ref: string }[] };
}

/** Logical ids without the CDK's 8-character hash: readable, stable names of the roles. */
const roleName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

/** What a resource of a statement is, for the table (undefined: not a store of live queries). */
function storeOf(resource: unknown): { kind: 'bucket' | 'queue' | 'key'; label: string } | undefined {
  const text = JSON.stringify(resource);
  const path = /"\/([^"]+)"\]\]\}$/.exec(text)?.[1];
  if (text.includes('DatasetBucket') && !text.includes('AccessLogs'))
    return { kind: 'bucket', label: path ?? '(bucket)' };
  if (/"ShadowQueue[0-9A-F]{8}"/.test(text)) return { kind: 'queue', label: 'queue' };
  if (/"ShadowDeadLetters[0-9A-F]{8}"/.test(text)) return { kind: 'queue', label: 'dead-letter queue' };
  if (/"DatasetKey[0-9A-F]{8}"/.test(text)) return { kind: 'key', label: 'dataset key' };
  if (/"ShadowKey[0-9A-F]{8}"/.test(text)) return { kind: 'key', label: 'queue key' };
  if (/:key\/\*/.test(text)) return { kind: 'key', label: 'key/* (via SQS)' };
  return undefined;
}

/** One row per role: the bucket paths it may read, the queues it may receive from, the keys it may decrypt with. */
export function liveQueryReaders(): Map<string, { bucket: Set<string>; queue: Set<string>; key: Set<string> }> {
  const rows = new Map<string, { bucket: Set<string>; queue: Set<string>; key: Set<string> }>();
  const { templates } = synth();
  for (const template of [templates.pipeline, templates.api]) {
    const resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
    for (const policy of Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
      for (const s of policy.Properties.PolicyDocument?.Statement ?? []) {
        if (s.Effect !== 'Allow') continue;
        const actions = ([] as string[]).concat(s.Action);
        const wanted = { 's3:GetObject': 'bucket', 'sqs:ReceiveMessage': 'queue', 'kms:Decrypt': 'key' } as const;
        for (const [action, kind] of Object.entries(wanted)) {
          if (!actions.includes(action)) continue;
          for (const resource of ([] as unknown[]).concat(s.Resource)) {
            const found = storeOf(resource);
            if (found?.kind !== kind) continue;
            for (const { Ref } of policy.Properties.Roles ?? []) {
              const name = roleName(Ref);
              const row = rows.get(name) ?? { bucket: new Set(), queue: new Set(), key: new Set() };
              row[kind].add(found.label);
              rows.set(name, row);
            }
          }
        }
      }
    }
  }
  return rows;
}

const cell = (values: Set<string>) =>
  values.size === 0
    ? '—'
    : [...values]
        .sort()
        .map((v) => `\`${v}\``)
        .join(', ');

/** The table as the page must show it, one role a line, sorted. */
export function expectedTable(): string[] {
  return [...liveQueryReaders().entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, row]) => `| \`${name}\` | ${cell(row.bucket)} | ${cell(row.queue)} | ${cell(row.key)} |`);
}

describe('docs/data-handling.md', () => {
  const page = readFileSync(path.join(__dirname, '..', '..', 'docs', 'data-handling.md'), 'utf8');

  it('lists exactly the roles the synthesized IAM lets read live queries, with what each may read', () => {
    const block = /<!-- readers:begin -->([\s\S]*?)<!-- readers:end -->/.exec(page)?.[1] ?? '';
    const documented = block
      .split('\n')
      .map((l) => l.trim().replace(/ +\|/g, ' |').replace(/\| +/g, '| '))
      .filter((l) => l.startsWith('| `'));
    expect(documented).toEqual(expectedTable());
  });

  it('is linked from the README', () => {
    expect(readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')).toContain('(docs/data-handling.md)');
  });
});
