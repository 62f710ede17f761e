import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/constructs/function';
import { measureBundles, type FunctionFigures } from '../../scripts/bench-bundles';
import { appFunctions } from '../../scripts/router-bundle';

/**
 * The most each function's minified bundle may weigh, in KiB: about 3 % above its size today (npm run bench:bundles),
 * rounded up to 10 KiB. A bundle that grows past its budget fails here, not as a ⚠️ on every synth; lower a budget
 * when its bundle shrinks, and raise one only with the reason in docs/bundles.md, which lists the same figures.
 */
const BUDGET_KIB: Readonly<Record<string, number>> = {
  StartDistillation: 670,
  CheckDistillation: 650,
  DeployStudent: 650,
  CheckDeployment: 650,
  Evaluate: 870,
  CheckEvaluation: 810,
  Gate: 290,
  SelectCandidate: 290,
  DeleteRunnersUp: 660,
  Promote: 650,
  Report: 1400,
  ReuseDataset: 730,
  StartCanary: 670,
  CheckCanary: 670,
  AbandonCanary: 680,
  Preflight: 900,
  Plan: 730,
  Calibrate: 770,
  GenerateShard: 780,
  Assemble: 730,
  Labeller: 870,
  Drift: 800,
  Router: 710,
};

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

describe('bundle budgets', () => {
  let figures: FunctionFigures[] = [];
  beforeAll(async () => {
    figures = await measureBundles();
  }, 300_000);

  it('has a budget for every function of the app and for no other', () => {
    expect(
      appFunctions()
        .map((f) => f.name)
        .sort(),
    ).toEqual(Object.keys(BUDGET_KIB).sort());
  });

  it.each(Object.entries(BUDGET_KIB))('%s stays within its budget of %i KiB', (name, budget) => {
    const f = figures.find((x) => x.name === name);
    if (!f) throw new Error(`${name} was not bundled`);
    const top = f.top.map((t) => `${t.module} ${kib(t.bytes)} KiB`).join(', ');
    // On failure the message says by how much and where to look.
    const verdict =
      f.bundleBytes <= budget * 1024
        ? 'within budget'
        : `${name} is ${kib(f.bundleBytes)} KiB, over its ${budget} KiB budget; largest parts: ${top}`;
    expect(verdict).toBe('within budget');
  });

  it('docs/bundles.md states the same budgets', () => {
    const docs = readFileSync(path.join(PROJECT_ROOT, 'docs', 'bundles.md'), 'utf8');
    const section = docs.slice(docs.indexOf('\n## Budgets')).split(/\n## (?!Budgets)/)[0] ?? '';
    const stated = Object.fromEntries(
      [...section.matchAll(/^\|\s*(\w+)\s*\|[^|\n]*\|\s*([\d,]+)\s*\|/gm)].map((m) => [
        m[1],
        Number(m[2]?.replace(',', '')),
      ]),
    );
    expect(stated).toEqual(BUDGET_KIB);
  });
});
