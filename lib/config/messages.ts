import type { z } from 'zod';
import { closestMatch } from '../text/closest';
import { CANDIDATES_EXAMPLE } from './candidates';
import { BOOLEAN_MESSAGE } from './fields';

/** How a parse's problems are worded: one line per config key, in the project's voice rather than zod's. */

/** The shape of each structured key, shown with its problem: what to give instead. */
const STRUCTURED_EXAMPLES: Readonly<Record<string, string>> = {
  candidates: CANDIDATES_EXAMPLE,
  defaultWeights:
    'give visual, audio, transcription and metadata, each from 0 to 1, e.g. ' +
    `-c defaultWeights='{"visual":0.4,"audio":0.2,"transcription":0.2,"metadata":0.2}'`,
  prices:
    'give a JSON object of model id to USD per 1M tokens, e.g. ' +
    `-c prices='{"amazon.nova-micro-v1:0":{"inputPer1M":0.035,"outputPer1M":0.14}}'`,
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'a list',
};

const MISSING = 'is missing';

/** The project's wording for the issues zod words itself (schemas with a message of their own keep it). */
export function projectVoice(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? MISSING : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
    case 'invalid_value': {
      const options = issue.values.filter((v): v is string => typeof v === 'string');
      const near = typeof issue.input === 'string' ? closestMatch(issue.input, options) : undefined;
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(' or ');
      return `must be ${allowed}${near ? ` — did you mean "${near}"?` : ''}`;
    }
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return undefined;
  }
}

/** A value as the user typed it: JSON text in single quotes (as on a shell line), the rest as JSON, cut when long. */
function shown(value: unknown): string {
  const text =
    typeof value === 'string' && value.includes('"') && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

const listed = (names: readonly string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : (names[0] ?? '');

/**
 * One line per config key: the key, the value given, what is wrong (every problem inside a structured value at once:
 * "missing audio, transcription and metadata") and the fix (the expected shape, or the accepted booleans).
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], known: Record<string, unknown>): string[] {
  const byKey = new Map<string, z.core.$ZodIssue[]>();
  for (const issue of issues) {
    const top = String(issue.path[0] ?? '');
    byKey.set(top, [...(byKey.get(top) ?? []), issue]);
  }
  return [...byKey].map(([top, group]) => {
    const inner = (issue: z.core.$ZodIssue) => issue.path.slice(1).map(String).join('.');
    const missing = group.filter((i) => i.message === MISSING && i.path.length > 1).map(inner);
    const others = group.filter((i) => !(i.message === MISSING && i.path.length > 1));
    const single = others.length === 1 && missing.length === 0 ? others[0] : undefined;
    // A single problem keeps its full path (corsAllowOrigins.0); several are told apart inside the line.
    const label = single ? single.path.map(String).join('.') : top;
    const what = [
      ...(missing.length ? [`missing ${listed(missing)}`] : []),
      ...others.map((i) => (single || i.path.length <= 1 ? i.message : `${inner(i)} ${i.message}`)),
    ].join('; ');
    const fix =
      STRUCTURED_EXAMPLES[top] !== undefined
        ? `; ${STRUCTURED_EXAMPLES[top]}`
        : group.some((i) => i.message === BOOLEAN_MESSAGE)
          ? ` (-c ${top}=true or -c ${top}=false)`
          : '';
    const given = top in known ? ` (given: ${shown(known[top])})` : '';
    return `${label}${given}: ${what}${fix}`;
  });
}
