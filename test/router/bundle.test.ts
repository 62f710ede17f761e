import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BUNDLING, PROJECT_ROOT } from '../../lib/constructs/function';
import { bundle, classicZodModules, esbuildOptions, ROUTER_ENTRY } from '../../scripts/router-bundle';

/** The router bundled as deployed (the house Function's esbuild options): what it holds, not how fast it loads. */
describe('the router bundle', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'router-bundle-'));
  const outfile = path.join(dir, 'index.js');
  let result: Awaited<ReturnType<typeof bundle>>;

  beforeAll(async () => {
    result = await bundle(ROUTER_ENTRY, outfile);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates with zod/mini: no module of classic zod is bundled', () => {
    expect(classicZodModules(result.metafile, outfile)).toEqual([]);
    const zodInputs = Object.keys(result.metafile.inputs).filter((f) => f.includes('node_modules/zod/'));
    expect(zodInputs).toEqual(expect.arrayContaining([expect.stringContaining('node_modules/zod/v4/mini/')]));
  });

  it('detects classic zod where a module imports it (lib/config.ts, which no function bundles)', async () => {
    const probeOut = path.join(dir, 'config.js');
    const probed = await bundle(path.join(PROJECT_ROOT, 'lib', 'config.ts'), probeOut);
    expect(classicZodModules(probed.metafile, probeOut).length).toBeGreaterThan(0);
  });

  it('bundles with esbuild at the deployed log level: warnings and errors, no size summary', () => {
    expect(esbuildOptions()).toMatchObject({ logLevel: 'warning' });
  });

  it('ships a source map without the sources text (file:line mapping only)', () => {
    expect(esbuildOptions()).toMatchObject({ sourcemap: true, sourcesContent: false });
    expect(BUNDLING.sourcesContent).toBe(false);
    const map = JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources).toEqual(expect.arrayContaining([expect.stringContaining('lambda/router/handler.ts')]));
    expect(map.sourcesContent).toBeUndefined();
  });
});
