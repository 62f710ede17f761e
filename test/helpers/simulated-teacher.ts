import type { ConverseCommandInput, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { MODALITIES, type Modality } from '../../lambda/shared/modality';
import { QUERY_WRITER_SYSTEM_PROMPT } from '../../lambda/shared/query-writing';
import { converseReply, requestTexts } from './aws-mocks';

/**
 * A deterministic stand-in for the teacher, answering Converse requests in the real output shape: writing requests
 * get a JSON array of distinct queries that carry their target in a keyword; labelling requests get weights whose
 * dominant modality follows that keyword (a "mix" query gets mixed weights). Used by the handler tests, the local
 * state machine run and the generation benchmark.
 */

const KEYWORDS: Record<string, string> = {
  SEEN: 'scene',
  SOUND: 'sound',
  SAID: 'dialogue',
  FACTS: 'title',
  'two or more': 'mix',
};
const DOMINANT_OF: Record<string, Modality> = {
  scene: 'visual',
  sound: 'audio',
  dialogue: 'transcription',
  title: 'metadata',
};

export interface SimulatedTeacherOptions {
  /** Answer this label request with prose instead of JSON (attempt counts from 1 per query). */
  readonly badLabel?: (query: string, attempt: number) => boolean;
  /** Every n-th written query repeats the previous one with other case and punctuation (a normalised duplicate). */
  readonly duplicateEvery?: number;
}

export class SimulatedTeacher {
  readonly calls = { writing: 0, labelling: 0 };
  private written = 0;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: SimulatedTeacherOptions = {}) {}

  reply(input: ConverseCommandInput): ConverseCommandOutput {
    const { system, user } = requestTexts(input);
    return system === QUERY_WRITER_SYSTEM_PROMPT ? this.write(user) : this.label(user);
  }

  private write(message: string): ConverseCommandOutput {
    this.calls.writing++;
    const count = Number(/Write (\d+) different/.exec(message)?.[1] ?? 10);
    const domain = /Domain: ([^.]+)\./.exec(message)?.[1] ?? 'general';
    const keyword = Object.entries(KEYWORDS).find(([marker]) => message.includes(marker))?.[1] ?? 'scene';
    const queries: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = ++this.written;
      const every = this.options.duplicateEvery;
      const previous = queries.at(-1);
      queries.push(
        every && n % every === 0 && previous ? `${previous.toUpperCase()}!` : `${domain} ${keyword} moment ${n}`,
      );
    }
    return converseReply(JSON.stringify(queries), { inputTokens: 160, outputTokens: 12 * count });
  }

  private label(query: string): ConverseCommandOutput {
    this.calls.labelling++;
    const attempt = (this.attempts.get(query) ?? 0) + 1;
    this.attempts.set(query, attempt);
    if (this.options.badLabel?.(query, attempt)) {
      return converseReply('This query is mostly visual, I would say.', { inputTokens: 330, outputTokens: 11 });
    }
    const n = Number(/(\d+)\s*!?$/.exec(query)?.[1] ?? 0);
    const keyword = Object.values(KEYWORDS).find((k) => query.toLowerCase().includes(k)) ?? 'scene';
    const weights: Record<Modality, number> = { visual: 0.1, audio: 0.1, transcription: 0.1, metadata: 0.1 };
    if (keyword === 'mix') {
      // Mixed: no weight reaches 0.5; the leading modality rotates so mixed queries spread over all four.
      const lead = MODALITIES[n % MODALITIES.length] as Modality;
      for (const m of MODALITIES) weights[m] = m === lead ? 0.4 : 0.2;
    } else {
      weights[DOMINANT_OF[keyword] as Modality] = 0.7;
    }
    return converseReply(JSON.stringify(weights), { inputTokens: 330, outputTokens: 28 });
  }
}
