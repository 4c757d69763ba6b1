// The tasks a JobType can name (--task): what each reads from the message, which of its fields may
// be s3:// documents, how it runs (one or more structured steps, with progress) and the small
// summary that stays in the termination message when the whole answer goes to S3.
import { z } from 'zod';
import { assembleNote } from './assemble.ts';
import type { StructuredLlm } from './llm.ts';
import {
  chapterLessons, competencySchema, courseStructure, difficulties, finalAssessment, flashcards, lessonStructure, questionExtraction, quiz,
  rubricGrading, visual, type ChapterLessons, type CourseBrief, type Competency,
} from './steps.ts';

export type TaskContext = {
  llm: StructuredLlm;
  progress: (percent: number, step?: string) => void;
  /** Reads an s3:// object as text (assemble-note's visuals). */
  readText: (uri: string) => Promise<string | undefined>;
  concurrency: number;
};

export type Task<I> = {
  name: string;
  input: z.ZodType<I>;
  /** Input fields that hold text or an s3:// URI of it. */
  documents: string[];
  run: (input: I, context: TaskContext) => Promise<unknown>;
  summarize: (output: never) => Record<string, unknown>;
};

const document = z.string().min(1);
const defineTask = <I>(task: Task<I>) => task;

const DEFAULT_RUBRIC: Competency[] = [
  { competency: 'Communication', description: 'Clear, structured, professional language' },
  { competency: 'Empathy', description: 'Acknowledges the other person\'s situation and feelings' },
  { competency: 'Objection handling', description: 'Addresses concerns with relevant answers' },
  { competency: 'Product knowledge', description: 'Accurate, relevant facts' },
  { competency: 'Closing', description: 'Agrees next steps' },
];

const transcriptTurns = z.array(z.object({ speaker: z.string().optional(), role: z.string().optional(), text: z.string() })).min(1);

const rubricGradingTask = defineTask({
  name: 'rubric-grading',
  input: z.object({
    transcript: z.union([document, transcriptTurns]),
    rubric: z.array(competencySchema).min(1).max(20).optional(),
    guidelines: z.string().optional(),
  }),
  documents: ['transcript', 'guidelines'],
  run: async (input, { llm, progress }) => {
    progress(10, 'grading');
    const transcript = typeof input.transcript === 'string'
      ? input.transcript
      : input.transcript.map((t) => `${t.speaker ?? t.role ?? 'speaker'}: ${t.text}`).join('\n');
    return llm.generate(rubricGrading, { transcript, rubric: input.rubric ?? DEFAULT_RUBRIC, guidelines: input.guidelines });
  },
  summarize: (output: z.infer<typeof rubricGrading.schema>) => ({ overallScore: output.overallScore, competencies: output.competencies.length }),
});

const questionExtractionTask = defineTask({
  name: 'question-extraction',
  input: z.object({ transcript: document, maxQuestions: z.int().min(1).max(50).default(20) }),
  documents: ['transcript'],
  run: async (input, { llm, progress }) => {
    progress(10, 'extracting questions');
    return llm.generate(questionExtraction, input);
  },
  summarize: (output: z.infer<typeof questionExtraction.schema>) => ({ questions: output.questions.length }),
});

const lessonStructureTask = defineTask({
  name: 'lesson-structure',
  input: z.object({ textContent: document }),
  documents: ['textContent'],
  run: async (input, { llm, progress }) => {
    progress(10, 'analyzing text');
    return llm.generate(lessonStructure, { text: input.textContent });
  },
  // What the fan-out needs: one GENERATE_VISUAL message per visual.
  summarize: (output: z.infer<typeof lessonStructure.schema>) => ({
    title: output.title,
    visuals: output.visualOpportunities.map((v, visualIndex) => ({ visualIndex, description: v.description })),
  }),
});

const visualTask = defineTask({
  name: 'visual',
  input: z.object({ description: z.string().min(1), lessonTitle: z.string().optional() }),
  documents: [],
  run: async (input, { llm, progress }) => {
    progress(10, 'planning the visual');
    return llm.generate(visual, { description: input.description, lessonTitle: input.lessonTitle });
  },
  summarize: (output: z.infer<typeof visual.schema>) => ({ searchQuery: output.searchQuery }),
});

const assembleNoteTask = defineTask({
  name: 'assemble-note',
  input: z.object({
    /** The lesson-structure answer (its JSON, or the S3 object lesson-structure wrote). */
    structure: document,
    /** Where the visual jobs wrote their answers: <prefix>/<visualIndex>.json. */
    visualsPrefix: z.string().regex(/^s3:\/\/[^/]+/).optional(),
    visuals: z.int().min(0).max(100).default(0),
  }),
  documents: ['structure'],
  run: async (input, { readText, progress }) => {
    progress(10, 'assembling the note');
    return assembleNote(input, readText);
  },
  summarize: (output: Awaited<ReturnType<typeof assembleNote>>) => ({ title: output.title, characters: output.markdown.length, visualsMissing: output.visualsMissing }),
});

const materialInput = z.object({ text: document, count: z.int().min(1).max(30).default(5) });

const quizTask = defineTask({
  name: 'quiz',
  input: materialInput,
  documents: ['text'],
  run: async (input, { llm, progress }) => {
    progress(10, 'writing the quiz');
    return llm.generate(quiz, input);
  },
  summarize: (output: z.infer<typeof quiz.schema>) => ({ questions: output.questions.length }),
});

const flashcardsTask = defineTask({
  name: 'flashcards',
  input: materialInput,
  documents: ['text'],
  run: async (input, { llm, progress }) => {
    progress(10, 'writing flashcards');
    return llm.generate(flashcards, input);
  },
  summarize: (output: z.infer<typeof flashcards.schema>) => ({ cards: output.cards.length }),
});

/** The note's markdown: the text itself, or the markdown of an assemble-note answer stored as JSON. */
export function noteMarkdown(note: string): string {
  if (!note.trimStart().startsWith('{')) return note;
  try {
    const json = JSON.parse(note) as { output?: { markdown?: unknown }; markdown?: unknown };
    const markdown = json.output?.markdown ?? json.markdown;
    return typeof markdown === 'string' ? markdown : note;
  } catch {
    return note;
  }
}

const studyToolsTask = defineTask({
  name: 'study-tools',
  input: z.object({ note: document, questions: z.int().min(1).max(30).default(5), cards: z.int().min(1).max(50).default(8) }),
  documents: ['note'],
  run: async (input, { llm, progress }) => {
    progress(10, 'writing the quiz and flashcards');
    const text = noteMarkdown(input.note);
    const [quizOutput, flashcardsOutput] = await Promise.all([
      llm.generate(quiz, { text, count: input.questions }),
      llm.generate(flashcards, { text, count: input.cards }),
    ]);
    return { quiz: quizOutput, flashcards: flashcardsOutput };
  },
  summarize: (output: { quiz: { questions: unknown[] }; flashcards: { cards: unknown[] } }) => ({
    questions: output.quiz.questions.length,
    cards: output.flashcards.cards.length,
  }),
});

const courseInput = z
  .object({
    transcript: document,
    language: z.string().min(2).default('es'),
    targetLanguage: z.string().min(2).optional(),
    difficulty: z.enum(difficulties).default('medium'),
  })
  .transform((i): CourseBrief => ({ ...i, targetLanguage: i.targetLanguage ?? i.language }));

const courseStructureTask = defineTask({
  name: 'course-structure',
  input: courseInput,
  documents: ['transcript'],
  run: async (brief, { llm, progress }) => {
    progress(10, 'generating the course structure');
    return llm.generate(courseStructure, brief);
  },
  summarize: (output: z.infer<typeof courseStructure.schema>) => ({ title: output.title, chapters: output.chapters.length }),
});

/** Runs `work` over `items` with at most `limit` at once, in order of the results. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

// The 004 workflow: structure (to 20 %), each chapter's lessons in parallel (to 85 %), the final
// assessment (to 95 %); the SDK reports 100 when the result is written.
const courseTask = defineTask({
  name: 'course',
  input: courseInput,
  documents: ['transcript'],
  run: async (brief, { llm, progress, concurrency }) => {
    progress(5, 'generating the course structure');
    const course = await llm.generate(courseStructure, brief);
    progress(20, `generating lessons for ${course.chapters.length} chapters`);
    let done = 0;
    const chapters = await inParallel(course.chapters, concurrency, async (_chapter, chapterIndex): Promise<ChapterLessons> => {
      const lessons = await llm.generate(chapterLessons, { ...brief, course, chapterIndex });
      done++;
      progress(20 + (65 * done) / course.chapters.length, `generated chapter ${done} of ${course.chapters.length}`);
      return lessons;
    });
    progress(85, 'generating the final assessment');
    const assessment = await llm.generate(finalAssessment, { ...brief, course });
    return {
      title: course.title,
      description: course.description,
      language: brief.targetLanguage,
      difficulty: brief.difficulty,
      chapters: course.chapters.map((chapter, i) => ({
        title: chapter.title,
        summary: chapter.summary,
        lessons: chapter.lessons.map((lesson, j) => ({ ...lesson, ...chapters[i]!.lessons[j], title: lesson.title })),
      })),
      finalAssessment: assessment,
    };
  },
  summarize: (output: { title: string; chapters: { lessons: unknown[] }[]; finalAssessment: { exercises: unknown[] } }) => ({
    title: output.title,
    chapters: output.chapters.length,
    lessons: output.chapters.reduce((n, c) => n + c.lessons.length, 0),
    assessmentExercises: output.finalAssessment.exercises.length,
  }),
});

export const tasks: Record<string, Task<never>> = Object.fromEntries(
  [
    rubricGradingTask, questionExtractionTask, lessonStructureTask, visualTask, assembleNoteTask, quizTask, flashcardsTask, studyToolsTask,
    courseStructureTask, courseTask,
  ].map((t) => [t.name, t as unknown as Task<never>]),
);
export const taskNames = Object.keys(tasks);
