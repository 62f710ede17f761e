import * as path from 'node:path';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import { ConfigurationError } from '../../lambda/core/environment';
import {
  ABANDON_CANARY_ENVIRONMENT,
  CHECK_CANARY_ENVIRONMENT,
  PROMOTE_ENVIRONMENT,
  START_CANARY_ENVIRONMENT,
} from '../../lambda/pipeline/rollout/environment';
import { Function, PROJECT_ROOT } from '../../lib/constructs/function';
import { synth } from '../helpers/app';
import { TRAINING_ENV } from './training-env';

/**
 * The rollout functions' variables are all set by the construct (lib/constructs/pipeline/stages/rollout.ts): none may be
 * optional, or a handler would quietly run on a stand-in value when a deployment left one out. And the handler tests'
 * fixture sets each of them, so no contract is loosened to suit a test.
 */

const CONTRACTS = {
  'pipeline/rollout/promote.ts': PROMOTE_ENVIRONMENT,
  'pipeline/rollout/start-canary.ts': START_CANARY_ENVIRONMENT,
  'pipeline/rollout/check-canary.ts': CHECK_CANARY_ENVIRONMENT,
  'pipeline/rollout/abandon-canary.ts': ABANDON_CANARY_ENVIRONMENT,
};
type Handler = keyof typeof CONTRACTS;
const isRollout = (handler: string): handler is Handler => handler in CONTRACTS;

/** What the construct sets on each rollout function with the default configuration, by handler. */
function synthesized(): [Handler, Record<string, string>][] {
  const { stacks, templates } = synth();
  const resources = templates.pipeline.toJSON().Resources as Record<
    string,
    { Properties: { Environment?: { Variables?: Record<string, unknown> } } }
  >;
  return stacks.pipeline.node
    .findAll()
    .filter((c): c is Function => c instanceof Function)
    .flatMap((f) => {
      const handler = path.relative(path.join(PROJECT_ROOT, 'lambda'), f.entry).split(path.sep).join('/');
      if (!isRollout(handler)) return [];
      const logicalId = Stack.of(f).getLogicalId(f.function.node.defaultChild as CfnElement);
      const variables = resources[logicalId]?.Properties.Environment?.Variables ?? {};
      return [[handler, Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]))]];
    });
}

describe('rollout environment contracts', () => {
  const functions = synthesized();

  it('finds the four rollout functions', () => {
    expect(functions.map(([handler]) => handler).sort()).toEqual(Object.keys(CONTRACTS).sort());
  });

  it.each(functions)('%s: every variable is required, and a missing one is named', (handler, variables) => {
    const contract = CONTRACTS[handler];
    expect(() => contract.read(variables)).not.toThrow();
    for (const name of contract.names) {
      const without = Object.fromEntries(Object.entries(variables).filter(([k]) => k !== name));
      expect(() => contract.read(without)).toThrow(ConfigurationError);
      expect(() => contract.read(without)).toThrow(`${name}: must be`);
    }
  });

  it.each(Object.entries(CONTRACTS))("the handler tests' fixture (TRAINING_ENV) sets %s's variables", (_, contract) => {
    expect(contract.names.filter((n) => !(n in TRAINING_ENV))).toEqual([]);
    expect(() => contract.read(TRAINING_ENV)).not.toThrow();
  });
});
