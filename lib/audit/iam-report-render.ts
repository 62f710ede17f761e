import type { IamReport } from './iam-report-model';
import { renderOperatorCommands } from './operator-needs';

/** The report as JSON (what `cdk.out/iam-report.json` holds). */
export const renderIamReportJson = (report: IamReport): string => `${JSON.stringify(report, null, 2)}\n`;

/** The report as Markdown (what `cdk.out/iam-report.md` holds): summary, problems, wildcards, then role by role. */
export function renderIamReportMarkdown(report: IamReport): string {
  const { summary } = report;
  const lines: string[] = [
    '# IAM report',
    '',
    `Generated from the synthesized templates of ${summary.stacks.map((s) => `\`${s}\``).join(', ')} by ` +
      '`npm run iam-report`. Resources are shown as in the template: `<LogicalId.Attribute>` stands for a ' +
      'reference to a resource of the stack, `<AWS::Partition>` etc. for pseudo parameters.',
    '',
    '## Summary',
    '',
    table(
      [
        'roles',
        'identity policies',
        'statements',
        'distinct actions',
        'wildcard statements',
        'services touched',
        'problems',
      ],
      [
        [
          String(summary.roles),
          String(summary.policies),
          String(summary.statements),
          String(summary.actions),
          String(summary.wildcardStatements),
          String(summary.services.length),
          String(summary.problems),
        ],
      ],
    ),
    '',
    `Services: ${summary.services.map((s) => `\`${s}\``).join(', ') || '—'}.`,
    `Also checked for real actions: ${summary.otherPolicyStatements} statements of trust and resource policies.`,
    '',
  ];

  lines.push('## Problems', '');
  if (report.problems.length === 0)
    lines.push('None: every action is real, no action is `*`, every wildcard resource has a stated reason.');
  for (const problem of report.problems) lines.push(`- **${problem.code}** — ${escapeInline(problem.message)}`);
  lines.push('');

  lines.push('## Wildcard statements', '');
  if (report.wildcardStatements.length === 0) lines.push('None.');
  else {
    lines.push(
      table(
        ['statement', 'actions', 'wildcard', 'reason (cdk-nag acknowledgement)'],
        report.wildcardStatements.flatMap((s) =>
          s.acknowledgements.map((ack) => [
            s.ref,
            s.actions.map(code).join('<br>'),
            code(ack.finding),
            ack.reason ? `${ack.reason} (${code(ack.ruleId ?? '')})` : '**none**',
          ]),
        ),
      ),
    );
  }
  lines.push('');

  lines.push(...renderOperatorCommands(report.operatorCommands));

  lines.push('## Roles', '');
  for (const role of report.roles) {
    lines.push(`### ${role.path ?? role.logicalId}`, '');
    lines.push(
      `- Stack: \`${role.stack}\`, logical id \`${role.logicalId}\`${role.roleName ? `, name \`${role.roleName}\`` : ''}`,
    );
    if (role.customResourceProvider) lines.push('- Created by CDK for a custom-resource provider');
    for (const trust of role.trust) {
      lines.push(
        `- ${trust.effect === 'Allow' ? 'Assumable by' : 'Denied to'} ${trust.principals.map(code).join(', ') || '—'} ` +
          `(${trust.actions.map(code).join(', ')})` +
          (trust.conditions.length ? ` when ${trust.conditions.map(code).join(' and ')}` : ''),
      );
    }
    lines.push(`- Permissions boundary: ${role.permissionsBoundary ? code(role.permissionsBoundary) : 'none'}`);
    lines.push(`- Managed policies: ${role.managedPolicyArns.map(code).join(', ') || 'none'}`);
    const statements = role.policies.flatMap((p) => p.statements.map((s) => ({ policy: p, s })));
    if (statements.length === 0) lines.push('- No inline or attached policy statements');
    else {
      lines.push(
        '',
        table(
          ['policy', 'effect', 'actions', 'resources', 'conditions'],
          statements.map(({ policy, s }) => [
            `${policy.kind === 'inline' ? 'inline' : policy.kind.replace('AWS::IAM::', '')} ${code(policy.name)}`,
            s.effect,
            [...s.actions.map(code), ...(s.notActions ?? []).map((a) => `not ${code(a)}`)].join('<br>'),
            [...s.resources.map(code), ...(s.notResources ?? []).map((r) => `not ${code(r)}`)].join('<br>'),
            s.conditions.map(code).join('<br>') || '—',
          ]),
        ),
      );
    }
    lines.push('');
  }

  if (report.unattachedPolicies.length > 0) {
    lines.push('## Policies not attached to a role of these stacks', '');
    for (const policy of report.unattachedPolicies) {
      lines.push(`- ${policy.kind} \`${policy.path ?? policy.logicalId}\`: ${policy.statements.length} statement(s)`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const escapeInline = (text: string) => text.replace(/\n/g, ' ');
const code = (text: string) => (text ? `\`${text.replace(/`/g, "'")}\`` : '');

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}
