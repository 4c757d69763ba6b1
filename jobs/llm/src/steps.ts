// One structured-output call each: a name (the JSON schema's name), a zod schema for the answer and
// a prompt template. OpenAI's strict structured outputs need every field required: optional values
// are nullable instead.
import { z } from 'zod';

export type Step<I, O> = {
  name: string;
  schema: z.ZodType<O>;
  system: string;
  prompt: (input: I) => string;
};

const JSON_ONLY = 'Answer with JSON that matches the given schema exactly.';

// ---------------------------------------------------------------------------------------------
// 000: roleplay and interview grading against a rubric.

export const competencySchema = z.object({
  competency: z.string().min(1),
  description: z.string().nullish(),
  weight: z.number().positive().nullish(),
});
export type Competency = z.infer<typeof competencySchema>;

export const rubricGradingSchema = z.object({
  overallScore: z.int().min(0).max(100).describe('Weighted overall score, 0-100'),
  competencies: z
    .array(
      z.object({
        name: z.string().min(1),
        score: z.int().min(0).max(10),
        evidence: z.string().describe('A short quote or paraphrase from the transcript'),
        feedback: z.string(),
      }),
    )
    .min(1)
    .max(20),
  strengths: z.array(z.string()).max(5),
  improvements: z.array(z.string()).max(5),
  summary: z.string(),
});

export const rubricGrading: Step<{ transcript: string; rubric: Competency[]; guidelines: string | undefined }, z.infer<typeof rubricGradingSchema>> = {
  name: 'rubric-grading',
  schema: rubricGradingSchema,
  system: `You are an examiner grading a trainee's roleplay conversation against a rubric. Score each competency 0-10 with evidence from the transcript, then an overall score 0-100 weighted by the competency weights. ${JSON_ONLY}`,
  prompt: ({ transcript, rubric, guidelines }) =>
    [
      'Rubric:',
      ...rubric.map((c) => `- ${c.competency}${c.weight ? ` (weight ${c.weight})` : ''}${c.description ? `: ${c.description}` : ''}`),
      ...(guidelines ? ['', 'Guidelines for the ideal conversation:', guidelines] : []),
      '',
      'Transcript:',
      transcript,
    ].join('\n'),
};

// ---------------------------------------------------------------------------------------------
// 001: interview questions and suggested answers from a transcript (the questions table's fields).

export const questionExtractionSchema = z.object({
  questions: z
    .array(
      z.object({
        question: z.string().min(1),
        answer: z.string().describe('A professional answer suggestion'),
        context: z.string().nullable(),
        question_context: z.string().nullable(),
        global: z.boolean().describe('Whether the question applies to interviews in general'),
      }),
    )
    .max(50),
});

export const questionExtraction: Step<{ transcript: string; maxQuestions: number }, z.infer<typeof questionExtractionSchema>> = {
  name: 'question-extraction',
  schema: questionExtractionSchema,
  system: `You extract the questions an interviewer asked from an interview transcript and suggest a professional answer to each. ${JSON_ONLY}`,
  prompt: ({ transcript, maxQuestions }) => `Extract at most ${maxQuestions} questions.\n\nTranscript:\n${transcript}`,
};

// ---------------------------------------------------------------------------------------------
// 003: lesson structure with visual placeholders, a visual per placeholder, quiz and flashcards.

export const lessonStructureSchema = z.object({
  title: z.string().min(1),
  structure: z
    .array(z.object({ heading: z.string().min(1), content: z.string().describe('Markdown; may hold [VISUAL::description] placeholders') }))
    .min(1)
    .max(30),
  visualOpportunities: z.array(z.object({ description: z.string().min(1), reason: z.string() })).max(10),
});
export type LessonStructure = z.infer<typeof lessonStructureSchema>;

export const lessonStructure: Step<{ text: string }, LessonStructure> = {
  name: 'lesson-structure',
  schema: lessonStructureSchema,
  system:
    'You turn source material into a lesson: a title and sections of markdown. Where a picture would help, put a placeholder [VISUAL::short description] in the content and list it under visualOpportunities with the same description. ' +
    JSON_ONLY,
  prompt: ({ text }) => `Source material:\n${text}`,
};

export const visualSchema = z.object({
  searchQuery: z.string().min(1).describe('An image search query that finds a fitting picture'),
  altText: z.string().min(1),
  caption: z.string(),
});
export type Visual = z.infer<typeof visualSchema>;

export const visual: Step<{ description: string; lessonTitle: string | undefined }, Visual> = {
  name: 'visual',
  schema: visualSchema,
  system: `You plan one illustration for a lesson: an image search query, alt text and a caption. ${JSON_ONLY}`,
  prompt: ({ description, lessonTitle }) => `${lessonTitle ? `Lesson: ${lessonTitle}\n` : ''}Illustration needed: ${description}`,
};

export const quizSchema = z.object({
  questions: z
    .array(
      z.object({
        question: z.string().min(1),
        options: z.array(z.string().min(1)).min(2).max(6),
        correctIndex: z.int().min(0).max(5),
        explanation: z.string(),
      }),
    )
    .min(1)
    .max(30),
}).refine((quiz) => quiz.questions.every((q) => q.correctIndex < q.options.length), { message: 'correctIndex must point at one of the options' });
export type Quiz = z.infer<typeof quizSchema>;

export const quiz: Step<{ text: string; count: number }, Quiz> = {
  name: 'quiz',
  schema: quizSchema,
  system: `You write multiple-choice questions that test understanding of study material, each with one correct option. ${JSON_ONLY}`,
  prompt: ({ text, count }) => `Write ${count} questions.\n\nMaterial:\n${text}`,
};

export const flashcardsSchema = z.object({
  cards: z.array(z.object({ front: z.string().min(1), back: z.string().min(1) })).min(1).max(50),
});

export const flashcards: Step<{ text: string; count: number }, z.infer<typeof flashcardsSchema>> = {
  name: 'flashcards',
  schema: flashcardsSchema,
  system: `You write flashcards (a term or question on the front, a concise answer on the back) from study material. ${JSON_ONLY}`,
  prompt: ({ text, count }) => `Write ${count} flashcards.\n\nMaterial:\n${text}`,
};

// ---------------------------------------------------------------------------------------------
// 004: a course from a video transcript: structure, then each chapter's lessons, then an assessment.

export const difficulties = ['easy', 'medium', 'hard'] as const;

export type CourseBrief = { transcript: string; language: string; targetLanguage: string; difficulty: (typeof difficulties)[number] };

export const courseStructureSchema = z.object({
  title: z.string().min(1),
  description: z.string(),
  chapters: z
    .array(
      z.object({
        title: z.string().min(1),
        summary: z.string(),
        lessons: z.array(z.object({ title: z.string().min(1), objectives: z.array(z.string()).max(6), startSeconds: z.number().min(0).nullable() })).min(1).max(12),
      }),
    )
    .min(1)
    .max(20),
});
export type CourseStructure = z.infer<typeof courseStructureSchema>;

const briefLines = (brief: CourseBrief) =>
  `The video is in ${brief.language}; write the course in ${brief.targetLanguage} at ${brief.difficulty} difficulty.`;

export const courseStructure: Step<CourseBrief, CourseStructure> = {
  name: 'course-structure',
  schema: courseStructureSchema,
  system: `You design a course from a video transcript: chapters, each with lessons, learning objectives and where in the video each lesson starts. ${JSON_ONLY}`,
  prompt: (brief) => `${briefLines(brief)}\n\nTranscript:\n${brief.transcript}`,
};

export const exerciseTypes = ['multiple_choice', 'true_false', 'fill_in_blank', 'short_answer'] as const;

const exerciseSchema = z.object({
  type: z.enum(exerciseTypes),
  prompt: z.string().min(1),
  options: z.array(z.string()).max(6).nullable(),
  answer: z.string().min(1),
});

export const chapterLessonsSchema = z.object({
  lessons: z.array(z.object({ title: z.string().min(1), markdown: z.string().min(1), exercises: z.array(exerciseSchema).max(6) })).min(1).max(12),
});
export type ChapterLessons = z.infer<typeof chapterLessonsSchema>;

export const chapterLessons: Step<CourseBrief & { course: CourseStructure; chapterIndex: number }, ChapterLessons> = {
  name: 'chapter-lessons',
  schema: chapterLessonsSchema,
  system: `You write the lessons of one chapter of a course: markdown content and a few varied exercises per lesson, in the order given. ${JSON_ONLY}`,
  prompt: ({ course, chapterIndex, ...brief }) => {
    const chapter = course.chapters[chapterIndex]!;
    return [
      briefLines(brief),
      `Course: ${course.title}`,
      `Chapter ${chapterIndex + 1}: ${chapter.title} — ${chapter.summary}`,
      'Lessons:',
      ...chapter.lessons.map((l, i) => `${i + 1}. ${l.title} (objectives: ${l.objectives.join('; ')})`),
      '',
      'Transcript:',
      brief.transcript,
    ].join('\n');
  },
};

export const finalAssessmentSchema = z.object({
  passingScore: z.int().min(0).max(100),
  timeLimitMinutes: z.int().min(1).max(240),
  exercises: z.array(exerciseSchema).min(1).max(40),
});

export const finalAssessment: Step<CourseBrief & { course: CourseStructure }, z.infer<typeof finalAssessmentSchema>> = {
  name: 'final-assessment',
  schema: finalAssessmentSchema,
  system: `You write the final assessment of a course, covering every chapter with varied exercise types. ${JSON_ONLY}`,
  prompt: ({ course, ...brief }) =>
    [briefLines(brief), `Course: ${course.title}`, ...course.chapters.map((c, i) => `Chapter ${i + 1}: ${c.title} — ${c.summary}`)].join('\n'),
};

export const steps = [rubricGrading, questionExtraction, lessonStructure, visual, quiz, flashcards, courseStructure, chapterLessons, finalAssessment];
