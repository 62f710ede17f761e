import {
  GuardrailPiiEntityType,
  type ApplyGuardrailCommandInput,
  type ApplyGuardrailCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';

/**
 * Redaction of personal data in sampled live queries before the shadow labeller sends them to the teacher or writes
 * them as production records: a Bedrock guardrail's sensitive-information filter, applied alone (ApplyGuardrail, no
 * model call), masks each detected entity of the configured types with its type in braces (`{EMAIL}`). The student
 * then learns that "an e-mail address was here" without the address. docs/data-handling.md says why this detector
 * (and not Amazon Comprehend DetectPiiEntities); docs/aws-facts.md §11 has the API facts.
 */

/** Every PII type a guardrail's sensitive-information filter knows (the SDK's own enum of the API's values). */
export const PII_ENTITY_TYPES: readonly GuardrailPiiEntityType[] = Object.values(GuardrailPiiEntityType);

/**
 * Kept out of the default list on purpose: in video search they are the routing signal, not a person's data.
 * A name or a title ("taylor swift live") points at metadata; redacting it would teach the student that a name
 * means nothing. Handles and sites ("@mkbhd", "vimeo.com") are channels, i.e. metadata; an age ("for 5 year olds")
 * describes the audience. Add any of them to redactPiiTypes if your traffic needs it.
 */
export const ROUTING_SIGNAL_PII_TYPES = ['NAME', 'USERNAME', 'URL', 'AGE'] as const satisfies GuardrailPiiEntityType[];

/**
 * The default: contact details, addresses, account, card and identity numbers, credentials and device identifiers.
 * None says anything about which modality a search wants, and each identifies or exposes a person.
 */
export const DEFAULT_REDACTED_PII_TYPES: readonly GuardrailPiiEntityType[] = PII_ENTITY_TYPES.filter(
  (type) => !(ROUTING_SIGNAL_PII_TYPES as readonly string[]).includes(type),
);

/** The guardrail version the labeller applies: its working draft, which `cdk deploy` updates with the config. */
export const REDACTION_GUARDRAIL_VERSION = 'DRAFT';

/** The placeholder a masked entity leaves in the text. */
export const placeholderOf = (type: string): string => `{${type}}`;

/** Entities masked, by PII type. */
export type RedactionCounts = Partial<Record<GuardrailPiiEntityType, number>>;

/** A query after redaction, and how many entities of each type were masked. */
export interface Redacted {
  readonly text: string;
  readonly redacted: Readonly<RedactionCounts>;
}

export type Redactor = (text: string) => Promise<Redacted>;

export type ApplyGuardrail = (input: ApplyGuardrailCommandInput) => Promise<ApplyGuardrailCommandOutput>;

/** The guardrail refused or returned something other than a masked text: the sample must not be stored. */
export class RedactionError extends Error {
  override readonly name = 'RedactionError';
}

/**
 * A Redactor over ApplyGuardrail (source INPUT: the query is a user's input). `NONE`: nothing detected, the text is
 * kept. `GUARDRAIL_INTERVENED`: the output is the masked text; an entity BLOCKED instead of ANONYMIZED means the
 * guardrail is not the one this app deploys (it masks only), so the sample fails rather than being stored unmasked.
 */
export function guardrailRedactor(applyGuardrail: ApplyGuardrail, guardrailIdentifier: string): Redactor {
  return async (text) => {
    const output = await applyGuardrail({
      guardrailIdentifier,
      guardrailVersion: REDACTION_GUARDRAIL_VERSION,
      source: 'INPUT',
      content: [{ text: { text } }],
    });
    if (output.action !== 'GUARDRAIL_INTERVENED') return { text, redacted: {} };
    const entities = (output.assessments ?? []).flatMap((a) => a.sensitiveInformationPolicy?.piiEntities ?? []);
    const blocked = entities.find((e) => e.action === 'BLOCKED');
    if (blocked) {
      throw new RedactionError(
        `guardrail ${guardrailIdentifier} blocked a ${blocked.type ?? '?'} instead of masking it: its PII action must be ANONYMIZE`,
      );
    }
    const masked = (output.outputs ?? []).map((o) => o.text ?? '').join('');
    if (masked.trim() === '') {
      throw new RedactionError(`guardrail ${guardrailIdentifier} intervened but returned no text`);
    }
    const redacted: RedactionCounts = {};
    for (const e of entities) {
      if (e.action === 'ANONYMIZED' && e.type) redacted[e.type] = (redacted[e.type] ?? 0) + 1;
    }
    return { text: masked, redacted };
  };
}

/** Adds counts by type (the batch's, the run's). */
export function addCounts(into: RedactionCounts, counts: Readonly<RedactionCounts>): void {
  for (const [type, n] of Object.entries(counts) as [GuardrailPiiEntityType, number][]) {
    into[type] = (into[type] ?? 0) + n;
  }
}

/**
 * The placeholders in a stored query, counted by type: what a record says about its own redaction (the records stay
 * plain `bedrock-conversation-2024` lines, so the count is read back from the text).
 */
export function placeholderCounts(text: string): RedactionCounts {
  const counts: RedactionCounts = {};
  for (const match of text.matchAll(/\{([A-Z_]+)\}/g)) {
    const type = match[1] as GuardrailPiiEntityType;
    if (PII_ENTITY_TYPES.includes(type)) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}
