import {
  CURRENT_STUDENT_PROMPT_VERSION,
  isStudentPromptVersion,
  STUDENT_FORMATS,
  STUDENT_PROMPT_VERSIONS,
  UnknownPromptVersion,
  type AnswerFormat,
} from './student-format';
import { parseWeights } from './weights';

/**
 * The teacher's system prompt, and how a reply is read given the prompt it was asked with. The student prompts live
 * with their answer formats in student-format.ts: change a prompt's text only together with its version.
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

/** The prompt versions new runs use. */
export const PROMPT_VERSIONS = { teacher: TEACHER_PROMPT_VERSION, student: CURRENT_STUDENT_PROMPT_VERSION } as const;

/** The teacher prompt's JSON weights: what the baseline and the fallback model answer with. */
export const TEACHER_ANSWER_FORMAT: AnswerFormat = { promptVersion: TEACHER_PROMPT_VERSION, parse: parseWeights };

/** How to read a reply given the prompt version it was asked with (a student's or the teacher prompt's). */
export function answerFormat(promptVersion: string): AnswerFormat {
  if (promptVersion === TEACHER_PROMPT_VERSION) return TEACHER_ANSWER_FORMAT;
  if (isStudentPromptVersion(promptVersion)) return STUDENT_FORMATS[promptVersion];
  throw new UnknownPromptVersion(
    `prompt version ${JSON.stringify(promptVersion)} is unknown to this release (it knows ` +
      `${[...STUDENT_PROMPT_VERSIONS, TEACHER_PROMPT_VERSION].join(', ')})`,
  );
}
