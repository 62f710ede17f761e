import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BUNDLING, PROJECT_ROOT } from '../../lib/constructs/function';
import { bundle } from '../../scripts/router-bundle';

const TSX = require.resolve('tsx/cli');
const SYNTH_APP = path.join(__dirname, 'synth-app.ts');
/** The smallest function of the app, bundled as synth bundles it. */
const ENTRY = 'pipeline/gate/gate.ts';
/** Relative to lambda/, as the house Function takes entries. */
const WARNING_ENTRY = path.relative(
  path.join(PROJECT_ROOT, 'lambda'),
  path.join(__dirname, 'fixtures', 'warning-handler.ts'),
);

/** Synthesizes house Functions with real bundling in a process of its own; what it printed, and its assets. */
function synth(outdir: string, entries: readonly string[]) {
  const run = spawnSync(process.execPath, [TSX, SYNTH_APP, outdir, ...entries], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });
  const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, assets };
}

/**
 * What a user sees of bundling on `cdk synth`: esbuild at BUNDLING.logLevel prints warnings and errors only, no size
 * summary ("index.js 1.2mb ⚠️", "⚡ Done in …"). aws-cdk-lib's own "Bundling asset …" line stays (core/lib/asset-staging
 * writes it unconditionally, one per function).
 */
describe('synth-time bundling', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synth-quiet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is quiet for a function without problems, and bundles what bench:bundles measures', async () => {
    const outdir = path.join(dir, 'quiet');
    const result = synth(outdir, [ENTRY]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter((l) => l.trim() !== '')).toEqual([
      'Bundling asset Bundles/Fn0/Function/Code/Stage...',
    ]);
    expect(BUNDLING.logLevel).toBe('warning');

    // The same bytes as npm run bench:bundles measures: its esbuild options are synth's.
    expect(result.assets).toHaveLength(1);
    const synthJs = readFileSync(path.join(outdir, result.assets[0] ?? '', 'index.js'));
    const benchOut = path.join(dir, 'bench', 'index.js');
    const measured = await bundle(path.join(PROJECT_ROOT, 'lambda', ENTRY), benchOut);
    expect(synthJs.length).toBe(measured.bytes);
    expect(synthJs.equals(readFileSync(benchOut))).toBe(true);
  }, 300_000);

  it('still shows what is wrong: an esbuild warning reaches the user', () => {
    const result = synth(path.join(dir, 'warning'), [WARNING_ENTRY]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('[WARNING] Comparison with -0');
    expect(result.stderr).not.toMatch(/⚡ Done|index\.js\s+[\d.]+[km]b/);
  }, 300_000);
});
