import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import type { EnvironmentContract, Variable } from '../../lambda/core/environment';
import * as deployment from '../../lambda/pipeline/deployment/environment';
import * as evaluation from '../../lambda/pipeline/evaluation/environment';
import * as gate from '../../lambda/pipeline/gate/environment';
import * as generation from '../../lambda/pipeline/generation/environment';
import * as preflight from '../../lambda/pipeline/preflight/environment';
import * as report from '../../lambda/pipeline/report/environment';
import * as rollout from '../../lambda/pipeline/rollout/environment';
import * as selection from '../../lambda/pipeline/selection/environment';
import * as training from '../../lambda/pipeline/training/environment';
import * as shadow from '../../lambda/shadow/environment';
import { Function, PROJECT_ROOT } from '../../lib/constructs/function';
import { synth } from '../helpers/app';

/**
 * One typed environment contract per function, declared once: the construct sets `CONTRACT.values(...)` and the handler
 * reads `CONTRACT.read(process.env)`. This guard fails when a construct sets a variable its handler's contract does not
 * declare (or leaves one out), when a handler reads another contract or none, and when a variable name is written a
 * second time in a handler.
 */

type Contract = EnvironmentContract<Record<string, Variable>>;

/** Each pipeline and shadow handler (relative to lambda/) and the contract it reads, by the contract's export name. */
const CONTRACTS: Record<string, [name: string, contract: Contract]> = {
  'pipeline/preflight/preflight.ts': ['PREFLIGHT_ENVIRONMENT', preflight.PREFLIGHT_ENVIRONMENT],
  'pipeline/generation/plan.ts': ['PLAN_ENVIRONMENT', generation.PLAN_ENVIRONMENT],
  'pipeline/generation/calibrate.ts': ['CALIBRATE_ENVIRONMENT', generation.CALIBRATE_ENVIRONMENT],
  'pipeline/generation/generate-shard.ts': ['GENERATE_SHARD_ENVIRONMENT', generation.GENERATE_SHARD_ENVIRONMENT],
  'pipeline/generation/assemble.ts': ['ASSEMBLE_ENVIRONMENT', generation.ASSEMBLE_ENVIRONMENT],
  'pipeline/generation/reuse-dataset.ts': ['REUSE_DATASET_ENVIRONMENT', generation.REUSE_DATASET_ENVIRONMENT],
  'pipeline/training/start-training.ts': ['START_TRAINING_ENVIRONMENT', training.START_TRAINING_ENVIRONMENT],
  'pipeline/training/check-training.ts': ['CHECK_TRAINING_ENVIRONMENT', training.CHECK_TRAINING_ENVIRONMENT],
  'pipeline/deployment/deploy-student.ts': ['DEPLOY_STUDENT_ENVIRONMENT', deployment.DEPLOY_STUDENT_ENVIRONMENT],
  'pipeline/deployment/check-deployment.ts': ['CHECK_DEPLOYMENT_ENVIRONMENT', deployment.CHECK_DEPLOYMENT_ENVIRONMENT],
  'pipeline/evaluation/evaluate.ts': ['EVALUATE_ENVIRONMENT', evaluation.EVALUATE_ENVIRONMENT],
  'pipeline/selection/select-candidate.ts': ['SELECT_CANDIDATE_ENVIRONMENT', selection.SELECT_CANDIDATE_ENVIRONMENT],
  'pipeline/selection/delete-runners-up.ts': ['DELETE_RUNNERS_UP_ENVIRONMENT', selection.DELETE_RUNNERS_UP_ENVIRONMENT],
  'pipeline/evaluation/check-evaluation.ts': ['CHECK_EVALUATION_ENVIRONMENT', evaluation.CHECK_EVALUATION_ENVIRONMENT],
  'pipeline/gate/gate.ts': ['GATE_ENVIRONMENT', gate.GATE_ENVIRONMENT],
  'pipeline/rollout/promote.ts': ['PROMOTE_ENVIRONMENT', rollout.PROMOTE_ENVIRONMENT],
  'pipeline/rollout/start-canary.ts': ['START_CANARY_ENVIRONMENT', rollout.START_CANARY_ENVIRONMENT],
  'pipeline/rollout/check-canary.ts': ['CHECK_CANARY_ENVIRONMENT', rollout.CHECK_CANARY_ENVIRONMENT],
  'pipeline/rollout/abandon-canary.ts': ['ABANDON_CANARY_ENVIRONMENT', rollout.ABANDON_CANARY_ENVIRONMENT],
  'pipeline/report/report.ts': ['REPORT_ENVIRONMENT', report.REPORT_ENVIRONMENT],
  'shadow/labeller.ts': ['LABELLER_ENVIRONMENT', shadow.LABELLER_ENVIRONMENT],
  'shadow/drift.ts': ['DRIFT_ENVIRONMENT', shadow.DRIFT_ENVIRONMENT],
};

/** What the house Function sets on every function (lib/constructs/function.ts). */
const HOUSE = ['NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];

const handlerOf = (f: Function) => path.relative(path.join(PROJECT_ROOT, 'lambda'), f.entry).split(path.sep).join('/');

describe.each([
  ['the default configuration', {}],
  ['no canary', { canaryShare: 0 }],
])('environment contracts (%s)', (_, context) => {
  const { stacks, templates } = synth(context);
  const stack = stacks.pipeline;
  const functions = stack.node.findAll().filter((c): c is Function => c instanceof Function);
  const resources = templates.pipeline.toJSON().Resources as Record<
    string,
    { Properties: { Environment?: { Variables?: Record<string, unknown> } } }
  >;

  it('finds every pipeline and shadow function, each with a contract', () => {
    const handlers = functions.map(handlerOf).filter((h) => /^(pipeline|shadow)\//.test(h));
    expect(handlers.length).toBeGreaterThanOrEqual('canaryShare' in context ? 17 : 19);
    expect(handlers.filter((h) => !CONTRACTS[h])).toEqual([]);
  });

  it('sets on each function exactly its contract’s variables, plus the house ones', () => {
    for (const f of functions) {
      const handler = handlerOf(f);
      const entry = CONTRACTS[handler];
      if (!entry) continue;
      const logicalId = Stack.of(f).getLogicalId(f.function.node.defaultChild as CfnElement);
      const set = Object.keys(resources[logicalId]?.Properties.Environment?.Variables ?? {}).sort();
      expect({ handler, set }).toEqual({ handler, set: [...entry[1].names, ...HOUSE].sort() });
    }
  });
});

describe('the handlers', () => {
  it.each(Object.entries(CONTRACTS))(
    '%s reads its contract, and names none of its variables itself',
    (handler, [name, contract]) => {
      const source = readFileSync(path.join(PROJECT_ROOT, 'lambda', handler), 'utf8');
      // A contract without variables (the Check steps get everything in their input) has nothing to read.
      if (contract.names.length > 0) expect(source).toContain(`${name}.read(process.env)`);
      expect(source).not.toMatch(/process\.env\.[A-Z]|process\.env\[/);
      for (const variable of contract.names)
        expect({ handler, named: source.includes(`'${variable}'`) }).toEqual({ handler, named: false });
    },
  );

  it('declares each contract once: no two contracts of a stage folder share an export name', () => {
    const names = Object.values(CONTRACTS).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
  });
});
