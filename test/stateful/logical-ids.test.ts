import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { EVERYTHING_ON, synth } from '../helpers/app';

/**
 * A refactor must not replace what holds data or what operators know by name: CloudFormation replaces a resource whose
 * logical id changes, and a replaced bucket, key, parameter, topic, queue or retained log group is data lost (an alarm
 * renamed is an alarm nobody watches). This guard lists each stack's stateful logical ids, for the default
 * configuration and one with every option on, and compares them with the list kept next to it
 * (stateful-logical-ids.json, written from the templates of the commit before a restructuring). A new stateful resource
 * is fine (regenerate the list with UPDATE_STATEFUL_IDS=1 and say why in the commit); a missing one fails.
 * Functions, roles, policies and the state machine are not listed: replacing them loses nothing.
 */
const STATEFUL_TYPES = new Set([
  'AWS::S3::Bucket',
  'AWS::S3::BucketPolicy',
  'AWS::KMS::Key',
  'AWS::KMS::Alias',
  'AWS::SSM::Parameter',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::SQS::Queue',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::CompositeAlarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::Logs::LogGroup',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlan',
]);

const SNAPSHOT = path.join(__dirname, 'stateful-logical-ids.json');
const CONFIGS: Readonly<Record<string, Record<string, unknown>>> = { default: {}, everythingOn: EVERYTHING_ON };

type Listing = Record<string, Record<string, string[]>>;

/** "Type LogicalId" for every stateful resource, by configuration and stack, sorted. */
function listStateful(): Listing {
  const listing: Listing = {};
  for (const [name, context] of Object.entries(CONFIGS)) {
    const { templates } = synth(context);
    listing[name] = Object.fromEntries(
      Object.entries(templates).map(([stack, template]) => {
        const resources = template.toJSON().Resources as Record<string, { Type: string }>;
        const ids = Object.entries(resources)
          .filter(([, resource]) => STATEFUL_TYPES.has(resource.Type))
          .map(([id, resource]) => `${resource.Type} ${id}`)
          .sort();
        return [stack, ids];
      }),
    );
  }
  return listing;
}

it('keeps the logical id of every stateful resource (bucket, keys, parameter, topics, queues, alarms, log groups)', () => {
  const now = listStateful();
  if (process.env['UPDATE_STATEFUL_IDS'] === '1') writeFileSync(SNAPSHOT, `${JSON.stringify(now, null, 2)}\n`);
  const kept = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Listing;
  const missing: string[] = [];
  for (const [config, stacks] of Object.entries(kept)) {
    for (const [stack, ids] of Object.entries(stacks)) {
      const present = new Set(now[config]?.[stack] ?? []);
      missing.push(...ids.filter((id) => !present.has(id)).map((id) => `${config}/${stack}: ${id}`));
    }
  }
  expect(missing).toEqual([]);
  // The guard guards something: each stack of each configuration has its bucket/topic/alarms listed.
  expect(Object.values(kept).flatMap((stacks) => Object.values(stacks).map((ids) => ids.length > 0))).not.toContain(
    false,
  );
});
