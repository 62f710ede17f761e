/** The four modalities a video search fuses, in the order every weights object lists them. */
export const MODALITIES = ['visual', 'audio', 'transcription', 'metadata'] as const;
export type Modality = (typeof MODALITIES)[number];

/** How much each modality should count; each in [0,1], summing to 1. */
export type Weights = Readonly<Record<Modality, number>>;

export const isModality = (value: unknown): value is Modality =>
  typeof value === 'string' && (MODALITIES as readonly string[]).includes(value);

/** The modality with the largest weight; a tie goes to the first in MODALITIES order. */
export function dominantModality(weights: Weights): Modality {
  let best: Modality = MODALITIES[0];
  for (const m of MODALITIES) if (weights[m] > weights[best]) best = m;
  return best;
}

/** A query with no clear winner: no modality reaches half of the weight. */
export const isMixed = (weights: Weights): boolean => Math.max(...MODALITIES.map((m) => weights[m])) < 0.5;
