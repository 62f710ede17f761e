import { closestMatch } from './text/closest';
import { describeIssues, projectVoice } from './config/messages';
import { configSchema, resolveConfig, type AppConfig, type ConfigInput } from './config/rules';

/**
 * The app's whole configuration: one zod schema over CDK context, with defaults.
 * This is the only module that reads context; constructs receive the typed `AppConfig`.
 *
 * Context arrives as strings from `-c key=value` and as JSON values from cdk.json, so every number and boolean is
 * coerced, and structured values (prices, default weights) accept JSON text. The parts, in lib/config/: the value types
 * (fields.ts), the keys (schema.ts), the rules between keys and what the config resolves to (rules.ts), the wording of
 * problems (messages.ts).
 */

export { BOOLEAN_MESSAGE, NOT_JSON_MESSAGE, type ApiType } from './config/fields';
export { configSchema, resolveApiType, type AppConfig, type ConfigInput } from './config/rules';

export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof ConfigInput)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (CDK context):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Context keys of the CDK itself, its CLI and its context providers: never ours, never reported as unknown. Anything
 * else that is not one of our keys is a mistake, whatever its case (`EnvName`, `env_name`, `example-count`).
 */
const CDK_KEY_PREFIXES = ['@aws-cdk/', '@aws-cdk-containers/', 'aws:cdk:', 'aws-cdk:', 'cdk-', 'cdk:'];
const CDK_KEYS = ['cli-telemetry', 'acknowledged-issue-numbers', 'assembly-output', 'bundling-stacks'];
/** Cached context-provider lookups in cdk.context.json: `availability-zones:account=…:region=…`, `ssm:account=…`. */
const CONTEXT_LOOKUP = /^[a-z][a-z0-9-]*:account=/;
export const isCdkKey = (key: string): boolean =>
  CDK_KEY_PREFIXES.some((p) => key.startsWith(p)) || CDK_KEYS.includes(key) || CONTEXT_LOOKUP.test(key);

/** Parse raw context values (as from `app.node.getAllContext()`) into the typed config, or throw one ConfigError. */
export function parseConfig(context: Record<string, unknown>): AppConfig {
  const ours = Object.fromEntries(Object.entries(context).filter(([k]) => !isCdkKey(k)));
  const problems: string[] = [];
  for (const key of Object.keys(ours)) {
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      const near = closestMatch(key, CONFIG_KEYS);
      problems.push(
        `unknown key "${key}"${near ? ` — did you mean "${near}"?` : '.'} Known keys: ${CONFIG_KEYS.join(', ')}.`,
      );
    }
  }
  const known = Object.fromEntries(Object.entries(ours).filter(([k]) => (CONFIG_KEYS as string[]).includes(k)));
  // zod's own wording ("Invalid input: expected number, received undefined") only where a schema has none of ours.
  const result = configSchema.safeParse(known, { error: projectVoice });
  if (!result.success) problems.push(...describeIssues(result.error.issues, known));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return resolveConfig(result.data);
}
