import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Command-line flags for the project's scripts (`npm run cost`, `npm run pipeline`, `npm run iam-report`): `--name
 * value` or `--name=value`, `-c key=value` for CDK context. A bad flag fails with a message naming it and what is
 * allowed, never a stack trace.
 */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type FlagType = 'string' | 'integer' | 'number' | 'boolean';

export interface FlagSpec {
  readonly type: FlagType;
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
}
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['type'] extends 'string' ? string : number;
};

export interface ParsedArgs<S extends FlagSpecs> {
  readonly flags: FlagValues<S>;
  readonly positionals: string[];
  /** `-c key=value` pairs (only when `allowContext`). */
  readonly context: Record<string, string>;
}

export function parseArgs<S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
  options: { allowContext?: boolean } = {},
): ParsedArgs<S> {
  const flags: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (options.allowContext && (arg === '-c' || arg === '--context' || arg.startsWith('--context='))) {
      const pair = arg.startsWith('--context=') ? arg.slice('--context='.length) : argv[++i];
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) throw new UsageError(`${arg} needs key=value (CDK context), e.g. -c envName=prod`);
      context[pair.slice(0, eq)] = pair.slice(eq + 1);
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) throw unknownFlag(arg, specs);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const spec = specs[name];
    if (!spec) throw unknownFlag(`--${name}`, specs);
    if (spec.type === 'boolean') {
      const text = eq > 0 ? arg.slice(eq + 1) : 'true';
      if (text !== 'true' && text !== 'false')
        throw new UsageError(`--${name} takes no value (or =true/=false), got "${text}"`);
      flags[name] = text === 'true';
      continue;
    }
    const text = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (text === undefined || (eq < 0 && text.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value: ${spec.help}`);
    }
    flags[name] = flagValue(name, spec, text);
  }
  return { flags: flags as FlagValues<S>, positionals, context };
}

function flagValue(name: string, spec: FlagSpec, text: string): string | number {
  if (spec.type === 'string') {
    if (text.trim() === '') throw new UsageError(`--${name} must not be empty: ${spec.help}`);
    return text;
  }
  // Accept digit group separators people type (10,000 or 10_000).
  const value = Number(text.replace(/[,_]/g, ''));
  const what = spec.type === 'integer' ? 'a whole number' : 'a number';
  const range =
    spec.min !== undefined && spec.max !== undefined
      ? ` from ${spec.min.toLocaleString('en-US')} to ${spec.max.toLocaleString('en-US')}`
      : spec.min !== undefined
        ? ` of at least ${spec.min.toLocaleString('en-US')}`
        : '';
  const invalid =
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (spec.type === 'integer' && !Number.isInteger(value)) ||
    (spec.min !== undefined && value < spec.min) ||
    (spec.max !== undefined && value > spec.max);
  if (invalid) throw new UsageError(`--${name} must be ${what}${range} (${spec.help}), got "${text}"`);
  return value;
}

function unknownFlag(flag: string, specs: FlagSpecs): UsageError {
  const known = Object.keys(specs).map((n) => `--${n}`);
  const near = known
    .map((k) => ({ k, d: editDistance(flag.toLowerCase(), k) }))
    .sort((a, b) => a.d - b.d)
    .find((c) => c.d <= 3);
  return new UsageError(
    `unknown flag ${flag}${near ? ` — did you mean ${near.k}?` : ''} Known flags: ${known.join(', ') || 'none'}.`,
  );
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Usage text for a set of flags. */
export function flagHelp(specs: FlagSpecs): string {
  const usage = Object.entries(specs).map(([name, spec]) => [
    `--${name}${spec.type === 'boolean' ? '' : ` <${spec.type}>`}`,
    spec.help,
  ]);
  const width = Math.max(...usage.map(([flag]) => flag?.length ?? 0));
  return usage.map(([flag = '', help]) => `  ${flag.padEnd(width)}  ${help}`).join('\n');
}

/** The project's CDK context as `cdk synth` sees it: cdk.json's `context`, then cdk.context.json. */
export function projectContext(root: string): Record<string, unknown> {
  const read = (file: string): Record<string, unknown> => {
    const full = path.join(root, file);
    return existsSync(full) ? (JSON.parse(readFileSync(full, 'utf8')) as Record<string, unknown>) : {};
  };
  const cdkJson = read('cdk.json');
  const nested = cdkJson['context'];
  return {
    ...(typeof nested === 'object' && nested !== null ? (nested as Record<string, unknown>) : {}),
    ...read('cdk.context.json'),
  };
}
