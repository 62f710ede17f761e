import { Statement } from 'iam-floyd';

/**
 * The real IAM actions, from the statement providers `iam-floyd` generates from AWS's Service Authorization
 * Reference (one class per service). Nothing here is hand-written: updating the package updates the list.
 * Action names are case-insensitive in IAM, so lookups are too.
 */
export interface IamActionCatalog {
  /** Number of distinct actions known. */
  readonly size: number;
  /** True when the service prefix (e.g. `bedrock`) is known. */
  hasService(prefix: string): boolean;
  /** The real actions an action or wildcard pattern (`s3:Get*`, `bedrock:?etFoundationModel`) stands for. */
  matching(pattern: string): string[];
}

/** The part of an iam-floyd statement provider this module uses (its public API). */
interface StatementProvider {
  readonly servicePrefix: string;
  allMatchingActions(...expressions: string[]): { toJSON(): { Action?: string | string[] } };
}
type StatementProviderClass = new () => StatementProvider;

const isProviderClass = (value: unknown): value is StatementProviderClass => typeof value === 'function';

/** Builds a catalog from `service:Action` names (exported for tests that need a small, fixed catalog). */
export function catalogOf(actions: Iterable<string>): IamActionCatalog {
  const byService = new Map<string, Map<string, string>>();
  for (const action of actions) {
    const [service, name] = splitAction(action);
    if (!service || !name) continue;
    let names = byService.get(service.toLowerCase());
    if (!names) byService.set(service.toLowerCase(), (names = new Map()));
    names.set(action.toLowerCase(), `${service}:${name}`);
  }
  const size = [...byService.values()].reduce((n, names) => n + names.size, 0);
  return {
    size,
    hasService: (prefix) => byService.has(prefix.toLowerCase()),
    matching(pattern) {
      const [service, name] = splitAction(pattern);
      if (service === undefined || name === undefined) return [];
      const candidates = hasWildcard(service)
        ? [...byService.entries()].filter(([s]) => wildcardRegExp(service).test(s)).map(([, names]) => names)
        : [byService.get(service.toLowerCase())].filter((names) => names !== undefined);
      if (!hasWildcard(pattern)) {
        const exact = candidates[0]?.get(pattern.toLowerCase());
        return exact ? [exact] : [];
      }
      const regExp = wildcardRegExp(pattern);
      return candidates.flatMap((names) => [...names.entries()].filter(([key]) => regExp.test(key)).map(([, a]) => a));
    },
  };
}

let loaded: IamActionCatalog | undefined;

/** The catalog of every action iam-floyd knows (built once per process: ~950 services). */
export function loadIamActions(): IamActionCatalog {
  if (loaded) return loaded;
  const actions: string[] = [];
  for (const provider of Object.values(Statement)) {
    if (!isProviderClass(provider)) continue;
    const statement = new provider();
    // `All` (global conditions) has no service of its own.
    if (!statement.servicePrefix) continue;
    const action = statement.allMatchingActions('/.*/').toJSON().Action;
    actions.push(...(Array.isArray(action) ? action : action ? [action] : []));
  }
  if (actions.length === 0) {
    throw new Error('iam-floyd exposed no IAM actions: the package layout changed; update lib/audit/iam-actions.ts');
  }
  loaded = catalogOf(actions);
  return loaded;
}

export const hasWildcard = (pattern: string): boolean => /[*?]/.test(pattern);

function splitAction(action: string): [string | undefined, string | undefined] {
  const colon = action.indexOf(':');
  return colon > 0 ? [action.slice(0, colon), action.slice(colon + 1)] : [undefined, undefined];
}

/** IAM's wildcard matching: `*` any run of characters, `?` one character, case-insensitive. */
function wildcardRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}
