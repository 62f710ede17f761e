import { LRUCache } from 'lru-cache';
import type { Modality, Weights } from '../core/modality';

/** A model's answer worth repeating (static defaults are never cached: they are free and say nothing new). */
export interface CachedAnswer {
  readonly weights: Weights;
  readonly dominant: Modality;
  /** The model that answered. */
  readonly model: string;
  /** The prompt version it was asked with (the shadow samples say which format the answer came in). */
  readonly promptVersion: string;
  /** What was asked when it answered (the promoted deployment or the fallback): a new promotion makes it stale. */
  readonly target: string;
}

/** In-memory LRU of model answers keyed by normalised query; size 0 or TTL 0 turns it off. */
export class AnswerCache {
  private readonly lru?: LRUCache<string, CachedAnswer>;

  constructor(size: number, ttlSeconds: number) {
    if (size > 0 && ttlSeconds > 0) this.lru = new LRUCache({ max: size, ttl: ttlSeconds * 1000 });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** The answer for `key` if one was given by `target` within the TTL. */
  get(key: string, target: string): CachedAnswer | undefined {
    const hit = this.lru?.get(key);
    return hit && hit.target === target ? hit : undefined;
  }

  set(key: string, answer: CachedAnswer): void {
    this.lru?.set(key, answer);
  }
}
