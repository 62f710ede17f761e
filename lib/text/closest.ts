/**
 * "Did you mean …?" for config keys and CLI flags: one edit distance for both.
 *
 * Damerau-Levenshtein (optimal string alignment), so a swapped pair of letters counts as one typo; compared without
 * case, dashes or underscores, so `EnvName`, `env_name` and `env-name` all find `envName`. Hand-written rather than a
 * dependency: the common packages (fastest-levenshtein, leven) count a transposition as two edits.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The spelling-insensitive form of a key: lower case, without `-`, `_`, `.` or spaces. */
export const foldKey = (key: string): string => key.toLowerCase().replace(/[-_.\s]/g, '');

/**
 * The candidate closest to `word` when it is near enough to be a typo (at most 2 edits, or a third of the word),
 * else undefined. Ties go to the first candidate.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const folded = foldKey(word);
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(folded, foldKey(candidate));
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(folded.length / 3)) ? best.candidate : undefined;
}
