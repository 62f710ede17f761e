/**
 * `npm run iam-report [-- -c key=value …]`: synthesizes both stacks offline (in-process, bundling skipped), writes
 * cdk.out/iam-report.md and cdk.out/iam-report.json, and exits non-zero naming each statement whose action is `*`,
 * is not a real IAM action, or whose wildcard resource has no stated reason.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadIamActions } from '../lib/audit/iam-actions';
import {
  buildIamReport,
  renderIamReportJson,
  renderIamReportMarkdown,
  stackTemplateOf,
  type CfnTemplate,
} from '../lib/audit/iam-report';
import { createStacks, loadConfig } from '../lib/app';
import { parseArgs, projectContext, UsageError } from '../lib/cli/args';
import { ConfigError } from '../lib/config';

const ROOT = path.resolve(__dirname, '..');

function main(): number {
  const { positionals, context } = parseArgs(process.argv.slice(2), {}, { allowContext: true });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}": the only option is -c key=value (as for cdk synth)`);
  }
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

try {
  process.exitCode = main();
} catch (error) {
  if (!(error instanceof ConfigError || error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
