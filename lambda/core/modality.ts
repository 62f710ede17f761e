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

/** One value per modality, in MODALITIES order (`index` is the modality's position there): a typed record, no cast. */
export const modalityRecord = <T>(value: (modality: Modality, index: number) => T): Record<Modality, T> => ({
  visual: value('visual', MODALITIES.indexOf('visual')),
  audio: value('audio', MODALITIES.indexOf('audio')),
  transcription: value('transcription', MODALITIES.indexOf('transcription')),
  metadata: value('metadata', MODALITIES.indexOf('metadata')),
});
