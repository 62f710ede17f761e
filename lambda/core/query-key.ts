/**
 * The key of a query as the router caches it and the erase command hashes it: case, surrounding and repeated
 * whitespace do not change what a search means, so "Dog  barking" and " dog barking" are one query. Unicode-normalised
 * (NFKC) so look-alike forms match too. (Generation's duplicate check, normalisedQuery, also ignores punctuation.)
 */
export function normaliseQuery(query: string): string {
  return query.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}
