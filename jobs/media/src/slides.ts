// Slides + narration → MP4 (the training platform's roleplay and PPT videos): each slide is shown
// for its narration segment or its given duration, letterboxed to one frame size, the segments
// concatenated in one ffmpeg run.
import { badInput } from '@sluice/job-sdk';
import { videoEncoderOptions, type VideoEncoderName } from './encoder.ts';
import { command, type FfmpegCommand } from './ffmpeg.ts';

export type SlideTiming = {
  durationSeconds?: number;
  /** Duration of the slide's own audio segment, when it has one. */
  audioSeconds?: number;
};

/**
 * How long each slide shows. Per-slide audio: the given duration, else the segment's. One
 * narration track: given durations stay, and slides without one share what remains of the track.
 */
export function slideDurations(slides: SlideTiming[], narrationSeconds?: number): number[] {
  if (narrationSeconds === undefined) {
    return slides.map((slide, i) => {
      const seconds = slide.durationSeconds ?? slide.audioSeconds;
      if (seconds === undefined || seconds <= 0) throw badInput(`slide ${i + 1} has neither a narration segment nor durationSeconds`);
      return seconds;
    });
  }
  const given = slides.reduce((sum, s) => sum + (s.durationSeconds ?? 0), 0);
  const open = slides.filter((s) => s.durationSeconds === undefined).length;
  if (open === 0) return slides.map((s) => s.durationSeconds!);
  const share = (narrationSeconds - given) / open;
  if (share < 0.1) {
    throw badInput(`the narration is ${narrationSeconds.toFixed(2)}s: nothing left for the ${open} slide(s) without durationSeconds after ${given.toFixed(2)}s of given durations`);
  }
  return slides.map((s) => s.durationSeconds ?? share);
}

export type SlidesPlan = {
  slides: { image: string; audio?: string; seconds: number }[];
  narration?: string;
  width: number;
  height: number;
  fps: number;
  encoder: VideoEncoderName;
  output: string;
};

const seconds = (value: number) => value.toFixed(3);
const AUDIO_FORMAT = 'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo';

export function slidesCommand(plan: SlidesPlan): { cmd: FfmpegCommand; durationSeconds: number } {
  const cmd = command();
  const total = plan.slides.reduce((sum, s) => sum + s.seconds, 0);
  const filters: string[] = [];
  let input = 0;
  const segments: string[] = [];
  plan.slides.forEach((slide, i) => {
    cmd.input(slide.image).inputOptions('-loop', '1', '-framerate', String(plan.fps), '-t', seconds(slide.seconds));
    const { width: w, height: h } = plan;
    filters.push(
      `[${input}:v]scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,` +
        `setsar=1,fps=${plan.fps},format=yuv420p,trim=duration=${seconds(slide.seconds)},setpts=PTS-STARTPTS[v${i}]`,
    );
    input++;
    segments.push(`[v${i}]`);
    if (plan.narration !== undefined) return;
    if (slide.audio !== undefined) {
      cmd.input(slide.audio);
      filters.push(`[${input}:a]${AUDIO_FORMAT},apad=whole_dur=${seconds(slide.seconds)},atrim=duration=${seconds(slide.seconds)},asetpts=PTS-STARTPTS[a${i}]`);
      input++;
    } else {
      filters.push(`anullsrc=r=48000:cl=stereo,atrim=duration=${seconds(slide.seconds)}[a${i}]`);
    }
    segments.push(`[a${i}]`);
  });
  if (plan.narration === undefined) {
    filters.push(`${segments.join('')}concat=n=${plan.slides.length}:v=1:a=1[v][a]`);
  } else {
    cmd.input(plan.narration);
    filters.push(`${segments.join('')}concat=n=${plan.slides.length}:v=1:a=0[v]`);
    filters.push(`[${input}:a]${AUDIO_FORMAT},apad=whole_dur=${seconds(total)},atrim=duration=${seconds(total)}[a]`);
  }
  cmd
    .complexFilter(filters.join(';'))
    .output(plan.output)
    .outputOptions(
      '-map', '[v]', '-map', '[a]',
      ...videoEncoderOptions(plan.encoder, { crf: 23, preset: 'fast' }),
      '-r', String(plan.fps), '-c:a', 'aac', '-b:a', '128k', '-t', seconds(total), '-movflags', '+faststart',
    );
  return { cmd, durationSeconds: total };
}
