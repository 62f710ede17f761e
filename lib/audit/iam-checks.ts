import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { hasWildcard, type IamActionCatalog } from './iam-actions';
import { findingRuleId, WILDCARD_RULE, type Problem, type StatementEntry } from './iam-report-model';
import { asArray, stringOf, type PolicyStatementJson } from './iam-statements';

/**
 * The problems that fail the build: an action that is `*` in an Allow or is not a real IAM action, an Allow with
 * NotAction or NotResource, a wildcard resource without a stated reason.
 */

/** The problems of one identity-policy statement, added to `problems`. */
export function checkIdentityStatement(
  statement: StatementEntry,
  catalog: IamActionCatalog,
  problems: Problem[],
): void {
  checkActionList(
    [...statement.actions, ...(statement.notActions ?? [])],
    statement.effect,
    statement.ref,
    catalog,
    problems,
  );
  if (statement.effect !== 'Allow') return;
  if (statement.notActions) {
    problems.push({
      code: 'ALLOW_NOT_ACTION',
      statement: statement.ref,
      message: `${statement.ref}: Allow with NotAction grants every other action; list the actions instead`,
    });
  }
  if (statement.notResources) {
    problems.push({
      code: 'ALLOW_NOT_RESOURCE',
      statement: statement.ref,
      message: `${statement.ref}: Allow with NotResource grants every other resource; list the resources instead`,
    });
  }
  for (const ack of statement.acknowledgements) {
    if (ack.reason || !ack.finding.startsWith('Resource::')) continue;
    const resource = ack.finding.slice('Resource::'.length);
    problems.push({
      code: 'WILDCARD_RESOURCE_WITHOUT_REASON',
      statement: statement.ref,
      message:
        `${statement.ref}: wildcard resource "${resource}" (actions ${statement.actions.join(', ')}) has no stated ` +
        `reason: narrow it, or acknowledge it next to the resource with Validations.of(construct).acknowledge({ id: ` +
        `'${findingRuleId(ack.finding)}', reason: 'why AWS gives no narrower ARN' })` +
        (ack.ruleWide ? ` (a rule-wide '${WILDCARD_RULE}' acknowledgement does not cover single findings)` : ''),
    });
  }
}

/** Actions of a resource or trust policy statement: real actions, and never `*` in an Allow. */
export function checkActions(
  statement: PolicyStatementJson,
  ref: string,
  catalog: IamActionCatalog,
  problems: Problem[],
) {
  const actions = [...asArray(statement.Action), ...asArray(statement.NotAction)].map(flattenCfnReference);
  checkActionList(actions, stringOf(statement.Effect ?? 'Allow'), ref, catalog, problems);
}

function checkActionList(
  actions: readonly string[],
  effect: string,
  ref: string,
  catalog: IamActionCatalog,
  problems: Problem[],
): void {
  for (const action of actions) {
    if (action === '*') {
      // A Deny of everything (e.g. a guard statement) grants nothing; an Allow of everything is never least privilege.
      if (effect === 'Allow') {
        problems.push({
          code: 'STAR_ACTION',
          statement: ref,
          message: `${ref}: action "*" allows every action of every service; list the actions the code calls`,
        });
      }
      continue;
    }
    if (catalog.matching(action).length > 0) continue;
    const service = action.split(':')[0] ?? action;
    if (!action.includes(':') || !catalog.hasService(service)) {
      problems.push({
        code: 'UNKNOWN_SERVICE',
        statement: ref,
        message: `${ref}: "${action}" is not an IAM action: no service "${service}" (expected "<service>:<Action>")`,
      });
    } else if (hasWildcard(action)) {
      problems.push({
        code: 'WILDCARD_WITHOUT_MATCH',
        statement: ref,
        message: `${ref}: "${action}" matches no real ${service} action`,
      });
    } else {
      const near = nearestActions(action, catalog);
      problems.push({
        code: 'UNKNOWN_ACTION',
        statement: ref,
        message: `${ref}: "${action}" is not a real IAM action${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`,
      });
    }
  }
}

/** Up to two real actions of the same service that share the longest prefix and suffix with a misspelt one. */
function nearestActions(action: string, catalog: IamActionCatalog): string[] {
  const [service = '', name = ''] = action.split(':');
  const lower = name.toLowerCase();
  const score = (candidate: string) => {
    const c = (candidate.split(':')[1] ?? '').toLowerCase();
    let prefix = 0;
    while (prefix < c.length && c[prefix] === lower[prefix]) prefix++;
    let suffix = 0;
    while (suffix < c.length - prefix && c[c.length - 1 - suffix] === lower[lower.length - 1 - suffix]) suffix++;
    return prefix + suffix;
  };
  return catalog
    .matching(`${service}:*`)
    .map((candidate) => ({ candidate, score: score(candidate) }))
    .filter((c) => c.score >= Math.min(6, lower.length / 2))
    .sort((a, b) => b.score - a.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 2)
    .map((c) => c.candidate);
}
