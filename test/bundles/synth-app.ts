/**
 * A CDK app of house Functions synthesized with real bundling, as `cdk synth` runs it: `tsx test/bundles/synth-app.ts
 * <outdir> <entry>…` (entries relative to lambda/). test/bundles/synth-quiet.test.ts runs it in a process of its own,
 * since esbuild writes straight to the process's stderr.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Function } from '../../lib/constructs/function';

const [outdir, ...entries] = process.argv.slice(2);
const app = new App({ outdir });
const stack = new Stack(app, 'Bundles');
entries.forEach(
  (entry, i) =>
    new Function(stack, `Fn${i}`, {
      entry,
      description: `bundling of ${entry}`,
      serviceName: 'bundles-test',
      logRetentionDays: 1,
      retainLogs: false,
    }),
);
app.synth();
