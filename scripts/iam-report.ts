/**
 * `npm run iam-report [-- -c key=value …]`: synthesizes both stacks offline (in-process, bundling skipped), writes
 * cdk.out/iam-report.md and cdk.out/iam-report.json, and exits non-zero naming each statement whose action is `*`,
 * is not a real IAM action, or whose wildcard resource has no stated reason.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CfnTemplate } from '../lib/audit/iam-report';
import { flagHelp, parseArgs, projectContext, PROJECT_ROOT as ROOT, UsageError } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';
import { parseConfig } from '../lib/config';

const USAGE =
  'Usage: npm run iam-report [-- -c key=value …]\n' +
  'Synthesizes both stacks offline and writes cdk.out/iam-report.md and cdk.out/iam-report.json.\n' +
  flagHelp({}, { allowContext: true });

async function main(): Promise<number> {
  const { positionals, context, help } = parseArgs(process.argv.slice(2), {}, { allowContext: true });
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}": the only option is -c key=value (as for cdk synth)`);
  }
  // The context as the app will read it, checked before the CDK is even loaded (so `-c EnvName=prod` fails at once
  // instead of auditing the default environment).
  parseConfig({ ...projectContext(ROOT), ...context });
  const { App } = await import('aws-cdk-lib');
  const { createStacks, loadConfig } = await import('../lib/app');
  const { loadIamActions } = await import('../lib/audit/iam-actions');
  const { buildIamReport, renderIamReportJson, renderIamReportMarkdown, stackTemplateOf } =
    await import('../lib/audit/iam-report');
  // Synthesized into a temporary directory: cdk.out stays what `cdk synth` wrote; only the reports go there.
  const outdir = mkdtempSync(path.join(tmpdir(), 'iam-report-'));
  try {
    const app = new App({
      outdir,
      context: {
        ...projectContext(ROOT),
        // The report reads IAM, not code: skip bundling; record construct paths in the templates.
        'aws:cdk:bundling-stacks': [],
        'aws:cdk:enable-path-metadata': true,
        ...context,
      },
    });
    const { pipeline, api } = createStacks(app, loadConfig(app));
    const assembly = app.synth();
    const report = buildIamReport(
      [pipeline, api].map((stack) =>
        stackTemplateOf(stack, assembly.getStackByName(stack.stackName).template as CfnTemplate),
      ),
      loadIamActions(),
    );
    const cdkOut = path.join(ROOT, 'cdk.out');
    mkdirSync(cdkOut, { recursive: true });
    writeFileSync(path.join(cdkOut, 'iam-report.md'), renderIamReportMarkdown(report));
    writeFileSync(path.join(cdkOut, 'iam-report.json'), renderIamReportJson(report));

    const { summary } = report;
    console.log(
      `IAM report: ${summary.roles} roles, ${summary.statements} statements, ${summary.actions} distinct actions, ` +
        `${summary.wildcardStatements} wildcard statements, ${summary.services.length} services ` +
        `(${summary.services.join(', ')}) → cdk.out/iam-report.md, cdk.out/iam-report.json`,
    );
    if (report.problems.length === 0) return 0;
    console.error(`\n${report.problems.length} IAM problem(s):`);
    for (const problem of report.problems) console.error(`  - [${problem.code}] ${problem.message}`);
    return 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

void runCommand('npm run iam-report', main).then((code) => {
  process.exitCode = code;
});
