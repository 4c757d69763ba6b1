// What each media task reads from the message. A spec that does not parse is bad input (exit 2).
import { badInput } from '@sluice/job-sdk';
import { z } from 'zod';
import { audioProfileNames, videoProfileNames } from './profiles.ts';

const s3Uri = z.string().regex(/^s3:\/\/[^/]+\/.+/, 'expected an s3://bucket/key URI');
const s3Prefix = z.string().regex(/^s3:\/\/[^/]+(\/.*)?$/, 'expected an s3://bucket/prefix/ URI');

export const slidesSpec = z
  .object({
    slides: z
      .array(
        z.object({
          image: s3Uri,
          /** This slide's narration segment: the slide shows for as long as it plays. */
          audio: s3Uri.optional(),
          /** How long the slide shows; with `audio`, the segment is padded or cut to it. */
          durationSeconds: z.number().positive().max(3600).optional(),
        }),
      )
      .min(1)
      .max(500),
    /** One narration track for the whole video; slides without a duration share what remains of it. */
    narration: s3Uri.optional(),
    output: s3Uri,
    width: z.int().min(16).max(3840).default(1280),
    height: z.int().min(16).max(2160).default(720),
    fps: z.int().min(1).max(60).default(25),
  })
  .refine((spec) => !(spec.narration && spec.slides.some((s) => s.audio)), {
    message: 'give either one narration track or per-slide audio, not both',
  })
  .refine((spec) => spec.width % 2 === 0 && spec.height % 2 === 0, { message: 'width and height must be even' });
export type SlidesSpec = z.infer<typeof slidesSpec>;

/** Explicit outputs, or a prefix and profile names (outputs are <prefix>/<profile>.<ext>). */
function outputsOf<P extends string>(profiles: readonly [P, ...P[]]) {
  return z
    .object({
      input: s3Uri,
      outputs: z.array(z.object({ profile: z.enum(profiles), uri: s3Uri })).min(1).max(8).optional(),
      outputPrefix: s3Prefix.optional(),
      profiles: z.array(z.enum(profiles)).min(1).max(8).optional(),
    })
    .refine((spec) => (spec.outputs !== undefined) !== (spec.outputPrefix !== undefined && spec.profiles !== undefined), {
      message: 'give either outputs: [{profile, uri}] or outputPrefix with profiles',
    });
}

export const transcodeVideoSpec = outputsOf(videoProfileNames);
export type TranscodeVideoSpec = z.infer<typeof transcodeVideoSpec>;

export const transcodeAudioSpec = outputsOf(audioProfileNames);
export type TranscodeAudioSpec = z.infer<typeof transcodeAudioSpec>;

export const mediaTasks = ['slides-to-video', 'transcode-video', 'transcode-audio'] as const;
export type MediaTask = (typeof mediaTasks)[number];

/** The 002 service's message types, for bodies that say what they are. */
const taskOfType: Record<string, MediaTask> = {
  TRANSCODE_VIDEO: 'transcode-video',
  TRANSCODE_AUDIO: 'transcode-audio',
  SLIDES_TO_VIDEO: 'slides-to-video',
};

/** --task wins; else the body's `type` (pipe or JSON) when it names a media task. */
export function resolveTask(requested: string | undefined, body: unknown): MediaTask {
  if (requested) {
    if ((mediaTasks as readonly string[]).includes(requested)) return requested as MediaTask;
    throw badInput(`unknown media task ${JSON.stringify(requested)}; expected one of ${mediaTasks.join(', ')}`);
  }
  const type = (body as { type?: unknown } | null)?.type;
  const task = typeof type === 'string' ? taskOfType[type] : undefined;
  if (task) return task;
  throw badInput(`no media task: pass --task (${mediaTasks.join(', ')}) or send a body whose type is one of ${Object.keys(taskOfType).join(', ')}`);
}

const specSchemas = {
  'slides-to-video': slidesSpec,
  'transcode-video': transcodeVideoSpec,
  'transcode-audio': transcodeAudioSpec,
} as const;
export type SpecOf<T extends MediaTask> = z.infer<(typeof specSchemas)[T]>;

export function parseSpec<T extends MediaTask>(task: T, value: unknown, where: string): SpecOf<T> {
  const parsed = specSchemas[task].safeParse(value);
  if (parsed.success) return parsed.data as SpecOf<T>;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ');
  throw badInput(`the ${task} spec at ${where} is invalid: ${issues}`);
}

/** [profile, uri] pairs of a transcode spec. */
export function outputList<P extends string>(spec: { outputs?: { profile: P; uri: string }[]; outputPrefix?: string; profiles?: P[] }, extension: (profile: P) => string) {
  if (spec.outputs) return spec.outputs;
  const prefix = spec.outputPrefix!.replace(/\/+$/, '');
  return spec.profiles!.map((profile) => ({ profile, uri: `${prefix}/${profile}.${extension(profile)}` }));
}
