import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { NO_AWS } from './helpers/child-process';
import { promisify } from 'node:util';
import { CONFIG_KEYS, parseConfig } from '../lib/config';

/**
 * The README stays true to the commands it shows: every `npm run <script> -- <args>` in its code blocks is run with
 * `--help` appended — as a child process through tsx, as npm runs it, without AWS credentials — and must print its
 * usage and exit 0. The commands check their flags before they print help, so a flag the README shows that the
 * command no longer knows fails here. Every `npx cdk <command>` must be a CDK command and its `-c key=value` pairs a
 * valid configuration. The README stays short (≤ 300 lines) and its relative links lead to files (and headings) that
 * exist.
 */

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SCRIPTS = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;
const run = promisify(execFile);

/**
 * Placeholders the README writes in angle brackets, and the sample value each command is run with instead. A
 * placeholder not listed here fails the test, so that a new one is given a value on purpose.
 */
const SAMPLES: Readonly<Record<string, string>> = {
  '<env>': 'dev',
  '<envName>': 'dev',
  '<runId>': 'run-20261125-140307',
  '<file.jsonl>': 'dataset.jsonl',
  '<policy ARN>': 'arn:aws:iam::123456789012:policy/Boundary',
  '<subcommand>': 'start',
};

/** The fenced code blocks of a markdown text (also those indented inside list items), without their fences. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^( *)```[^\n]*\n([\s\S]*?)^\1```/gm)].map((m) =>
    m[2]!
      .split('\n')
      .map((line) => line.slice(m[1]!.length))
      .join('\n'),
  );
}

/** Shell words of one command: quotes grouped and removed; a `#` comment ends the line. */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]!);
  }
  return out;
}

/** The shell commands of the README's code blocks: continuations joined, split at `&&`, `;` and pipes. */
function commands(markdown: string): string[] {
  return codeBlocks(markdown)
    .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .flatMap((line) => line.split(/&&|;|\|/))
    .map((c) => c.trim())
    .filter(Boolean);
}

function withSamples(command: string): string {
  const substituted = command.replace(/<[^<>]+>/g, (placeholder) => SAMPLES[placeholder] ?? placeholder);
  const unknown = /<[^<>]+>/.exec(substituted);
  if (unknown) throw new Error(`README command "${command}": no sample value for ${unknown[0]} (add it to SAMPLES)`);
  return substituted;
}

interface NpmRun {
  readonly shown: string;
  readonly script: string;
  readonly args: string[];
}

const NPM_RUN = /^npm run ((?:(?:-s|--silent)\s+)*)([\w:.-]+)(?:\s+--(?:\s+(.*))?)?$/;
const npmRuns: NpmRun[] = commands(README)
  .filter((c) => c.startsWith('npm run '))
  .map((shown) => {
    const m = NPM_RUN.exec(shown);
    if (!m) throw new Error(`cannot read the README command "${shown}"`);
    return { shown, script: m[2]!, args: words(withSamples(m[3] ?? '')) };
  });
const cdkCommands = commands(README).filter((c) => c.startsWith('npx cdk '));

/** `scripts/<file>.ts` behind an npm script (`"cost": "tsx scripts/cost.ts"`). */
function scriptFile(script: string): string {
  const line = SCRIPTS[script];
  if (line === undefined) throw new Error(`package.json has no script "${script}"`);
  const m = /^tsx (scripts\/[\w.-]+\.ts)$/.exec(line.trim());
  if (!m) throw new Error(`npm script "${script}" is "${line}", not "tsx scripts/<file>.ts"`);
  return m[1]!;
}

/**
 * Whether a script reads its arguments and knows `--help` (its own source or the lib/cli module it calls): a script
 * that does not would run for real — a benchmark, or rewriting a generated file — so it is not started at all.
 */
function handlesHelp(file: string): boolean {
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  if (!source.includes('process.argv')) return false;
  const cliModules = [...source.matchAll(/from '(\.\.\/lib\/cli\/[\w-]+)'/g)].map((m) =>
    readFileSync(path.join(ROOT, 'scripts', `${m[1]!}.ts`), 'utf8'),
  );
  return [source, ...cliModules].some((text) => /\bhelp\b/.test(text));
}

async function help(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [file, ...args, '--help'], { cwd: ROOT, env: NO_AWS, timeout: 50_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

describe('README command examples', () => {
  it('shows the commands this test checks', () => {
    expect(npmRuns.map((c) => c.script)).toEqual(expect.arrayContaining(['pipeline', 'cost', 'cleanup-deployments']));
    expect(cdkCommands.length).toBeGreaterThan(0);
  });

  it.concurrent.each(npmRuns.map((c) => [c.shown, c] as const))(
    '%s: its flags are known (--help prints the usage, exit 0)',
    async (_shown, { script, args }) => {
      const file = scriptFile(script);
      if (!handlesHelp(file)) throw new Error(`${file} does not handle --help: not run, it would run for real`);
      const result = await help(file, args);
      expect({ code: result.code, stderr: result.stderr.trim() }).toEqual({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Usage:/);
    },
    60_000,
  );

  it.each(cdkCommands)('%s: a CDK command with a valid configuration', (command) => {
    const [npx, cdk, subcommand, ...rest] = words(withSamples(command));
    expect([npx, cdk]).toEqual(['npx', 'cdk']);
    expect(['synth', 'deploy', 'destroy', 'diff', 'bootstrap', 'list', 'ls']).toContain(subcommand);
    const context: Record<string, string> = {};
    rest.forEach((word, i) => {
      if (word !== '-c' && word !== '--context') return;
      const [key, ...value] = (rest[i + 1] ?? '').split('=');
      context[key!] = value.join('=');
    });
    expect(Object.keys(context).filter((k) => !(CONFIG_KEYS as string[]).includes(k))).toEqual([]);
    expect(() => parseConfig(context)).not.toThrow();
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes; repeats get -1, -2, … */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const prose = markdown.replace(/^( *)```[\s\S]*?^\1```/gm, '');
  for (const m of prose.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

describe('README.md', () => {
  const lines = README.trimEnd().split('\n');

  it('is at most 300 lines', () => {
    expect(lines.length).toBeLessThanOrEqual(300);
  });

  it('has no prose line over 200 characters (tables, code and the generated cost block aside)', () => {
    const generated = README.slice(README.indexOf('<!-- cost:begin'), README.indexOf('<!-- cost:end'));
    const prose = README.replace(generated, '').replace(/^( *)```[\s\S]*?^\1```/gm, '');
    expect(prose.split('\n').filter((line) => line.length > 200 && !line.startsWith('|'))).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const prose = README.replace(/^( *)```[\s\S]*?^\1```/gm, '');
    const targets = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
    expect(targets.length).toBeGreaterThan(10);
    const broken = targets.filter((target) => {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const full = path.join(ROOT, file === '' ? 'README.md' : file);
      if (!existsSync(full)) return true;
      return anchor !== undefined && full.endsWith('.md') && !anchors(readFileSync(full, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });
});
