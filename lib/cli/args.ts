import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs as parseNodeArgs } from 'node:util';
import { ConfigError, parseConfig, type AppConfig, type ConfigInput } from '../config';
import { DEPLOYMENT_REGIONS } from '../../lambda/core/model-ids';
import { closestMatch } from '../text/closest';

/**
 * Command-line flags for the project's operator commands: `--name value` or `--name=value`, `-h`/`--help` on every
 * command, `-c key=value` (or `--context key=value`) for CDK context where the command reads the app's config.
 * Tokenising is Node's own `util.parseArgs`; on top of it this module keeps the project's checks — value types and
 * ranges, per-flag validation, "did you mean" for unknown flags — so a bad flag fails with a message naming it and
 * what is allowed, before any AWS call and never with a stack trace.
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
  /** Extra check of a string value: returns what is wrong with it (shown after the flag's name), or undefined. */
  readonly check?: (value: string) => string | undefined;
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
  /** `-h` / `--help` was given. */
  readonly help: boolean;
}

export interface ParseOptions {
  /** Accept `-c key=value` / `--context key=value` (CDK context, as for `cdk synth`). */
  readonly allowContext?: boolean;
}

type NodeOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

const NUMBER = /^-?[\d,_]*\.?\d+(e[+-]?\d+)?$/i;

export function parseArgs<S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
  options: ParseOptions = {},
): ParsedArgs<S> {
  const nodeOptions: NodeOptions = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(specs)) {
    nodeOptions[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  }
  if (options.allowContext) nodeOptions['context'] = { type: 'string', short: 'c', multiple: true };
  // Not strict: unknown flags come back as tokens, so the message can suggest the closest known one.
  const { tokens } = parseNodeArgs({
    args: [...argv],
    options: nodeOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const flags: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  const context: Record<string, string> = {};
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const { name, rawName } = token;
    const value = token.value;
    // A value taken from the next argument that is itself a flag means the value was forgotten.
    const forgotten = value !== undefined && !token.inlineValue && value.startsWith('-') && !NUMBER.test(value);
    if (name === 'help') {
      if (value !== undefined) throw new UsageError(`${rawName} takes no value, got "${value}"`);
      help = true;
      continue;
    }
    if (name === 'context' && options.allowContext) {
      const eq = value?.indexOf('=') ?? -1;
      if (value === undefined || forgotten || eq <= 0) {
        throw new UsageError(`${rawName} needs key=value (CDK context), e.g. ${rawName} envName=prod`);
      }
      context[value.slice(0, eq)] = value.slice(eq + 1);
      continue;
    }
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) throw unknownFlag(rawName, specs, options);
    if (spec.type === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new UsageError(`--${name} takes no value (or =true/=false), got "${value}"`);
      }
      flags[name] = value !== 'false';
      continue;
    }
    if (value === undefined || forgotten) throw new UsageError(`--${name} needs a value: ${spec.help}`);
    flags[name] = flagValue(name, spec, value);
  }
  return { flags: flags as FlagValues<S>, positionals, context, help };
}

function flagValue(name: string, spec: FlagSpec, text: string): string | number {
  if (spec.type === 'string') {
    if (text.trim() === '') throw new UsageError(`--${name} must not be empty: ${spec.help}`);
    const problem = spec.check?.(text);
    if (problem) throw new UsageError(`--${name}: ${problem}`);
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

function unknownFlag(flag: string, specs: FlagSpecs, options: ParseOptions): UsageError {
  const names = [...Object.keys(specs), 'help', ...(options.allowContext ? ['context'] : [])];
  const known = `Known flags: ${names.map((n) => `--${n}`).join(', ')}.`;
  // -c is CDK context: a command that does not read the app's config would silently ignore it, so say so.
  if (!options.allowContext && (flag === '-c' || flag === '--context')) {
    return new UsageError(
      `unknown flag ${flag}: this command does not read the app's config, so it takes no -c key=value. ${known}`,
    );
  }
  const near = closestMatch(flag.replace(/^-+/, ''), names);
  return new UsageError(`unknown flag ${flag}${near ? ` — did you mean --${near}?` : '.'} ${known}`);
}

/** Usage text for a set of flags (with `-h, --help`, and `-c key=value` when the command takes CDK context). */
export function flagHelp(specs: FlagSpecs, options: ParseOptions = {}): string {
  const usage: [string, string][] = [
    ...Object.entries(specs).map(([name, spec]): [string, string] => [
      `--${name}${spec.type === 'boolean' ? '' : ` <${spec.type}>`}`,
      spec.help,
    ]),
    ...(options.allowContext
      ? [['-c, --context <key=value>', 'CDK context, as for cdk synth (e.g. -c envName=prod)'] as [string, string]]
      : []),
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...usage.map(([flag]) => flag.length));
  return usage.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`).join('\n');
}

/**
 * What is wrong with a Region for this app, or undefined: the config's own `region` rule (lib/config.ts: a Region name,
 * and one with on-demand custom-model deployment), so a command refuses exactly the Regions `cdk synth` refuses.
 */
export function checkRegion(value: string): string | undefined {
  try {
    parseConfig({ region: value });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problem = error.problems.find((p) => p.startsWith('region '));
    if (problem === undefined) return undefined;
    // "region (given: "x"): has no …, set region to … (-c region=us-east-1)" → about the flag's value.
    return `"${value}" ${problem
      .replace(/^region \(given: .*?\): /, '')
      .replace('set region to', 'use')
      .replace(/-c region=/g, '--region ')}`;
  }
}

/** The `--region` flag every AWS command takes, checked before any call. */
export const REGION_FLAG = {
  type: 'string',
  help: `AWS Region of the stacks, ${DEPLOYMENT_REGIONS.join(' or ')} (default: AWS_REGION, else your profile’s)`,
  check: checkRegion,
} as const satisfies FlagSpec;

/**
 * The Region an AWS command talks to when given: `--region`, else a `region` set explicitly in the CDK context (`-c
 * region=…`, cdk.json, cdk.context.json: where the stacks were deployed), else undefined — the SDK's own chain
 * (AWS_REGION, the profile) decides.
 */
export function explicitRegion(
  flagRegion: string | undefined,
  context: Record<string, string>,
  baseContext: Record<string, unknown>,
): string | undefined {
  const configured = context['region'] ?? baseContext['region'];
  return flagRegion ?? (typeof configured === 'string' ? configured : undefined);
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

/** The project root (where cdk.json lives), for projectContext. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The app's config as `cdk synth` would parse it — project context, then `-c` pairs, then the values of flags that set
 * a config key — so the commands share its validation (and its refusal of unknown keys such as `-c EnvName=prod`).
 * A problem about a key a flag set names that flag: `envName (given: "Prod"): … [from --env "Prod"]`.
 * A flag and a `-c` pair that set the same key to different values are refused, naming both.
 */
export function configFromFlags(
  projectContextValues: Record<string, unknown>,
  context: Record<string, string>,
  flagValues: Readonly<Record<string, { readonly key: keyof ConfigInput; readonly value: unknown }>>,
): AppConfig {
  const overrides: Record<string, unknown> = {};
  for (const [flag, { key, value }] of Object.entries(flagValues)) {
    if (value === undefined) continue;
    // `--env prod -c envName=dev`: which one was meant is not ours to guess.
    const given = context[key];
    if (given !== undefined && given !== String(value)) {
      throw new UsageError(
        `--${flag} ${String(value)} and -c ${key}=${given} disagree: give the ${key} once (--${flag} or -c ${key}=…)`,
      );
    }
    overrides[key] = value;
  }
  try {
    return parseConfig({ ...projectContextValues, ...context, ...overrides });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((problem) => {
      const named = Object.entries(flagValues)
        .filter(([, { key, value }]) => value !== undefined && new RegExp(`\\b${key}\\b`).test(problem))
        .map(([flag, { value }]) => `--${flag} ${JSON.stringify(value)}`);
      return named.length ? `${problem} [from ${named.join(', ')}]` : problem;
    });
    throw new ConfigError(problems);
  }
}
