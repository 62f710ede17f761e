import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { reportHtmlKey } from '../../lambda/pipeline/report/report-html';
import { assertRunId } from '../../lambda/core/runs';
import { pipelineOutputs, PipelineCliError } from './pipeline';

/**
 * `npm run pipeline -- report <runId> --env E [--open]`: downloads runs/<runId>/report.html from the environment's
 * dataset bucket (found through the Pipeline stack's outputs) and, with --open, opens it in the default browser.
 */

export interface ReportCommandOptions {
  readonly runId: string;
  readonly envName: string;
  /** Open the downloaded file in a browser when one is there. */
  readonly open?: boolean;
  /** Where to write report-<runId>.html (default: the current directory). */
  readonly outputDir?: string;
}

export interface ReportCommandDeps {
  readonly cfn: CloudFormationClient;
  readonly s3: S3Client;
  /** Writes one line of output. */
  readonly out: (line: string) => void;
  /** Opens a file in a browser; false when there is none (default: the platform's opener). */
  readonly openFile?: (file: string) => Promise<boolean>;
}

export interface ReportCommandResult {
  readonly file: string;
  readonly bucket: string;
  readonly key: string;
  readonly opened: boolean;
}

/** The platform's "open with the default application" command. */
const OPENERS: Readonly<Record<string, { command: string; args: (file: string) => string[] }>> = {
  darwin: { command: 'open', args: (file) => [file] },
  win32: { command: 'cmd', args: (file) => ['/c', 'start', '""', file] },
};
const XDG_OPEN = { command: 'xdg-open', args: (file: string) => [file] };

/** Opens `file` with the platform's opener, detached; false when the opener is missing or fails to start. */
export function openWithDefaultBrowser(file: string): Promise<boolean> {
  const opener = OPENERS[process.platform] ?? XDG_OPEN;
  return new Promise((resolve) => {
    const child = spawn(opener.command, opener.args(file), { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

export async function downloadReport(
  options: ReportCommandOptions,
  deps: ReportCommandDeps,
): Promise<ReportCommandResult> {
  const runId = assertRunId(options.runId);
  const { datasetBucketName: bucket } = await pipelineOutputs(deps.cfn, options.envName);
  const key = reportHtmlKey(runId);
  let html: string;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    html = (await object.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) {
      throw new PipelineCliError(
        `run "${runId}" has no HTML report (s3://${bucket}/${key}): a run writes it at its last step, and runs ` +
          `reported before report.html existed have only report.md; see where it is with ` +
          `npm run pipeline -- watch ${runId} --env ${options.envName}`,
      );
    }
    throw error;
  }
  const dir = path.resolve(options.outputDir ?? process.cwd());
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `report-${runId}.html`);
  await writeFile(file, html, 'utf8');
  deps.out(`Report of run ${runId} written to ${file}`);
  let opened = false;
  if (options.open) {
    opened = await (deps.openFile ?? openWithDefaultBrowser)(file);
    deps.out(opened ? 'Opened in the default browser.' : `No browser to open it here: open ${file} yourself.`);
  }
  return { file, bucket, key, opened };
}
