import { TEACHER_PROMPT_VERSION } from './teacher-prompt';
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
 * How a reply is read given the prompt it was asked with (the teacher's prompt itself is in teacher-prompt.ts, a leaf
 * the student formats import too). The student prompts live with their answer formats in
 * student-format.ts: change a prompt's text only together with its version.
 */

/** The prompt versions new runs use (the teacher labels with; the distillation candidate's records carry). */
export const PROMPT_VERSIONS = { teacher: TEACHER_PROMPT_VERSION, student: CURRENT_STUDENT_PROMPT_VERSION } as const;

/** The teacher prompt's JSON weights: what the baseline and the fallback model answer with. */
export const TEACHER_ANSWER_FORMAT: AnswerFormat = { promptVersion: TEACHER_PROMPT_VERSION, parse: parseWeights };

/** How to read a reply given the prompt version it was asked with (a student's or the teacher prompt's). */
export function answerFormat(promptVersion: string): AnswerFormat {
  if (promptVersion === TEACHER_PROMPT_VERSION) return TEACHER_ANSWER_FORMAT;
  if (isStudentPromptVersion(promptVersion)) return STUDENT_FORMATS[promptVersion];
  throw new UnknownPromptVersion(
    `prompt version ${JSON.stringify(promptVersion)} is unknown to this release (it knows ` +
      `${STUDENT_PROMPT_VERSIONS.join(', ')})`,
  );
}
