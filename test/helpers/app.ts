import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createStacks, loadConfig } from '../../lib/app';

/** cdk.json's context (feature flags and defaults), as bin/app.ts gets it. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/**
 * Builds the app exactly as bin/app.ts does, with cdk.json's feature flags, plus `context` as if given with `-c`.
 * Bundling is skipped (pure assertions); pass `bundle: true` to bundle the functions for real.
 */
export function buildApp(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}) {
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const config = loadConfig(app);
  const stacks = createStacks(app, config);
  return { app, config, stacks };
}

/** Context with every optional feature on (boundary, e-mail, API keys, CORS, fallback model, data not retained). */
export const EVERYTHING_ON = {
  permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ProjectBoundary',
  notificationEmail: 'ops@example.com',
  retainData: 'false',
  apiAuth: 'apiKey',
  corsAllowOrigins: 'https://search.example.com',
  fallbackModelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
};

/** One template per stack, built once per context (synth is the slow part of these tests). */
const cache = new Map<string, ReturnType<typeof buildApp> & { templates: { pipeline: Template; api: Template } }>();
export function synth(context: Record<string, unknown> = {}) {
  const key = JSON.stringify(context);
  let built = cache.get(key);
  if (!built) {
    const b = buildApp(context);
    built = {
      ...b,
      templates: { pipeline: Template.fromStack(b.stacks.pipeline), api: Template.fromStack(b.stacks.api) },
    };
    cache.set(key, built);
  }
  return built;
}

/** cdk-nag AwsSolutions findings not acknowledged in `stack`, as readable strings. */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}: ${v.description}`),
  );
}
