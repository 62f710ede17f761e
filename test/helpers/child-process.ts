import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * The operator commands as a user runs them: child processes on a machine without AWS credentials or a Region (as in
 * entry-points.test.ts), so a check that is promised "before any AWS call" cannot lean on one.
 */

export const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

/** The environment minus anything AWS: no keys, no profile, no Region, no config files, no instance metadata. */
export const NO_AWS: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'DEBUG')),
  AWS_CONFIG_FILE: path.join(ROOT, 'no-such-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'no-such-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  // On Node 20 the SDK prints a multi-line notice about its Node support; it is not the command's output.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function outcome(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, [...args], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `tsx <file> …args` (what `npm run <script>` runs), with `env` over NO_AWS. */
export const tsx = (file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> =>
  outcome(TSX, [file, ...args], { ...NO_AWS, ...env });

/** `npm run -s <script> -- …args`: through npm itself, silent, as the README has it. */
export const npmRun = (script: string, args: readonly string[]): Promise<Outcome> =>
  outcome('npm', ['run', '-s', script, '--', ...args], NO_AWS);

/** `git status --porcelain`: what a command changed in the working tree. */
export const gitStatus = async (): Promise<string> =>
  (await run('git', ['status', '--porcelain'], { cwd: ROOT })).stdout;
