/**
 * `npm run bench:bundles`: every function of the app bundled exactly as `cdk synth` bundles it (the house Function's
 * BUNDLING options, entries read from the app's own constructs), with the size of each bundle, its source map and the
 * three largest contributors (esbuild's metafile). docs/bundles.md explains the figures and the budgets that
 * test/bundles/budgets.test.ts enforces.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { flagHelp, parseArgs, UsageError } from '../lib/cli/args';
import { runCommand } from '../lib/cli/errors';
import { PROJECT_ROOT } from '../lib/constructs/function';
import { appFunctions, bundle, bytesByPackage } from './router-bundle';

const FLAGS = {
  json: { type: 'boolean', help: 'print only one JSON object (run it as npm run -s so npm adds nothing)' },
} as const;

const USAGE =
  'Usage: npm run -s bench:bundles [-- --json]\n' +
  'Bundles every Lambda function of the app as cdk synth does (no AWS, nothing written in the project) and prints,\n' +
  'per function, the minified bundle and its source map in KiB and the three largest contributors. docs/bundles.md\n' +
  'explains the figures and the budgets.\n' +
  flagHelp(FLAGS);

export interface FunctionFigures {
  readonly name: string;
  /** The handler file, relative to the project. */
  readonly entry: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  readonly top: readonly { readonly module: string; readonly bytes: number }[];
}

/** Bundles every function of the app into a temporary directory (removed afterwards) and measures it. */
export async function measureBundles(): Promise<FunctionFigures[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-bundles-'));
  try {
    // All at once: esbuild runs the builds in parallel in its own process.
    const figures = await Promise.all(
      appFunctions().map(async (fn): Promise<FunctionFigures> => {
        const outfile = path.join(dir, fn.name, 'index.js');
        const result = await bundle(fn.entry, outfile);
        return {
          name: fn.name,
          entry: path.relative(PROJECT_ROOT, fn.entry),
          bundleBytes: result.bytes,
          sourceMapBytes: result.sourceMapBytes,
          top: bytesByPackage(result.metafile, outfile)
            .slice(0, 3)
            .map(([module, bytes]) => ({ module, bytes })),
        };
      }),
    );
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

function table(figures: readonly FunctionFigures[]): string {
  const rows = [
    ['function', 'bundle KiB', 'map KiB', 'top 3 contributors (KiB)'],
    ...figures.map((f) => [
      f.name,
      kib(f.bundleBytes),
      kib(f.sourceMapBytes),
      f.top.map((t) => `${t.module} ${kib(t.bytes)}`).join(', '),
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      [
        (r[0] ?? '').padEnd(widths[0] ?? 0),
        (r[1] ?? '').padStart(widths[1] ?? 0),
        (r[2] ?? '').padStart(widths[2] ?? 0),
        r[3] ?? '',
      ].join('  '),
    )
    .join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const { flags, positionals, help } = parseArgs(argv, FLAGS);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the benchmark takes none`);
  const figures = await measureBundles();
  if (flags.json) {
    console.log(JSON.stringify({ functions: figures }));
    return 0;
  }
  const total = figures.reduce((s, f) => s + f.bundleBytes, 0);
  console.log(`${table(figures)}\n\n${figures.length} functions, ${kib(total)} KiB of bundles in all.`);
  return 0;
}

if (require.main === module) {
  void runCommand('npm run bench:bundles', () => main(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}
