import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { createStacks, loadConfig } from '../lib/app';
import { BUNDLING, Function, PROJECT_ROOT } from '../lib/constructs/function';

/** The router's entry, as the API construct deploys it. */
export const ROUTER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'router', 'handler.ts');

/**
 * The house Function's bundling options (BUNDLING, given to NodejsFunction) as esbuild options, so the benchmark and
 * the bundle test build exactly what is deployed. Every BUNDLING key is mapped: a new one fails to compile here.
 */
export function esbuildOptions(): BuildOptions {
  const { minify, sourceMap, sourcesContent, target, format, externalModules, mainFields, logLevel, ...unmapped } =
    BUNDLING;
  const none: Record<string, never> = unmapped; // empty: every key is mapped below
  return {
    ...none,
    bundle: true,
    platform: 'node',
    minify,
    sourcemap: sourceMap,
    sourcesContent,
    target,
    format,
    external: [...externalModules],
    mainFields: [...mainFields],
    logLevel,
  };
}

export interface BundleResult {
  readonly bytes: number;
  readonly sourceMapBytes: number;
  readonly metafile: Metafile;
}

/** Bundles `entry` to `outfile` as deployed; the metafile says which modules made it in. */
export async function bundle(entry: string, outfile: string): Promise<BundleResult> {
  const result = await build({
    ...esbuildOptions(),
    entryPoints: [entry],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
  });
  const outputs = result.metafile.outputs;
  const relative = path.relative(PROJECT_ROOT, outfile);
  const output = outputs[relative];
  if (!output) throw new Error(`esbuild wrote no ${relative}`);
  return { bytes: output.bytes, sourceMapBytes: outputs[`${relative}.map`]?.bytes ?? 0, metafile: result.metafile };
}

/** Bytes each npm package (or source folder) contributes to `outfile`, largest first. */
export function bytesByPackage(metafile: Metafile, outfile: string): [string, number][] {
  const output = metafile.outputs[path.relative(PROJECT_ROOT, outfile)];
  const sizes = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
    sizes.set(owner, (sizes.get(owner) ?? 0) + bytesInOutput);
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

/**
 * The modules of classic zod (the chainable API) in the bundle, with their bytes. The router validates with zod/mini
 * (zod's core only); classic zod would add ~400 KiB and ~25 ms to every cold start.
 */
export function classicZodModules(metafile: Metafile, outfile: string): [string, number][] {
  const output = metafile.outputs[path.relative(PROJECT_ROOT, outfile)];
  return Object.entries(output?.inputs ?? {})
    .filter(([file, { bytesInOutput }]) => /node_modules\/zod\/(v4\/classic|v3)\//.test(file) && bytesInOutput > 0)
    .map(([file, { bytesInOutput }]) => [file, bytesInOutput]);
}

export interface AppFunction {
  /** The house Function's construct id (Router, Report, …): unique in the app. */
  readonly name: string;
  readonly path: string;
  /** The handler file's absolute path. */
  readonly entry: string;
}

/**
 * Every function of the app, as `npx cdk synth` builds it (cdk.json's context, the default config) but without
 * bundling: the entries come from the constructs themselves, so no list of handlers can drift from the app.
 */
export function appFunctions(): AppFunction[] {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ context: { ...cdkJson.context, [BUNDLING_STACKS]: [] } });
  createStacks(app, loadConfig(app));
  const functions = app.node
    .findAll()
    .filter((c): c is Function => c instanceof Function)
    .map((f) => ({ name: f.node.id, path: f.node.path, entry: f.entry }));
  const names = functions.map((f) => f.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new Error(`Function ids are not unique: ${repeated.join(', ')}`);
  return functions;
}
