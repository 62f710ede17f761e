/**
 * The teacher's system prompt: the routing rules, definitions and few-shot examples every label is made with. A leaf
 * module (no imports) so that the student formats can offer it as a prompt version a student is asked with (a
 * distillation whose records carry the teacher prompt) without an import cycle.
 */

export const TEACHER_PROMPT_VERSION = 'teacher-v1';

export const TEACHER_RULES = `You route video search queries. A video search engine fuses four indexes; decide how much each should count for the query.

Modalities:
- visual: what is seen: appearance, colours, objects, people's actions, scenes, places.
- audio: non-speech sound: music, instruments, animal sounds, noise, sound effects.
- transcription: what is said: spoken words, dialogue, narration, quotes, lyrics sung, on-screen or spoken text.
- metadata: facts about the video: names of people, titles, channels, genre, dates, captions, keywords, tags.

Rules:
- Give every modality a weight from 0 to 1 with one decimal place; the four weights sum to exactly 1.
- The strongest signal in the query gets the largest weight; a modality the query says nothing about gets 0 or 0.1.
- A named person, title or event is metadata first; quoted words are transcription first; a sound is audio first.
- Mixed queries spread the weight over the modalities they mention.

Examples:
"red car driving on a coastal road" -> {"visual":0.9,"audio":0,"transcription":0,"metadata":0.1}
"dog barking loudly" -> {"visual":0.3,"audio":0.6,"transcription":0,"metadata":0.1}
"Taylor Swift" -> {"visual":0.3,"audio":0,"transcription":0.1,"metadata":0.6}
"chef says 'add a pinch of salt'" -> {"visual":0.2,"audio":0,"transcription":0.7,"metadata":0.1}`;

/** The teacher's system prompt: definitions, rules and few-shot examples; optionally asks for a short reasoning. */
export function teacherPrompt(includeReasoning = false): string {
  const reply = includeReasoning
    ? 'Reply with only one JSON object with the keys "visual", "audio", "transcription", "metadata" and "reasoning" (one short sentence).'
    : 'Reply with only one JSON object with the keys "visual", "audio", "transcription" and "metadata", nothing else.';
  return `${TEACHER_RULES}\n\n${reply}`;
}
