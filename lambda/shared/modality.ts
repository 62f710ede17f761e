/** The four modalities a video search fuses, in the order every weights object lists them. */
export const MODALITIES = ['visual', 'audio', 'transcription', 'metadata'] as const;
export type Modality = (typeof MODALITIES)[number];

/** How much each modality should count; each in [0,1], summing to 1. */
export type Weights = Readonly<Record<Modality, number>>;
