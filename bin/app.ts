#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createStacks, loadConfig } from '../lib/app';
import { ConfigError } from '../lib/config';

const app = new App();
try {
  createStacks(app, loadConfig(app));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
// Synth fails on any cdk-nag finding that is not acknowledged next to its resource.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
