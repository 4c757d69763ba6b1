// One media job: inputs from S3 into a scratch directory, checked with ffprobe (unreadable → exit 2),
// one ffmpeg run with its progress reported, outputs checked and uploaded, a result that says what
// was made and with which encoder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { downloadFile, s3Client, uploadFile } from '@sluice/job-s3';
import { badInput, JobError, pick, type JobContext } from '@sluice/job-sdk';
import { chooseVideoEncoder, type EncoderChoice, type VideoEncoder } from './encoder.ts';
import { FfmpegError, probe, run, type FfmpegCommand, type MediaInfo } from './ffmpeg.ts';
import { audioProfiles, videoProfiles } from './profiles.ts';
import { slideDurations, slidesCommand } from './slides.ts';
import { outputList, parseSpec, resolveTask, type MediaTask, type SlidesSpec, type TranscodeAudioSpec, type TranscodeVideoSpec } from './specs.ts';
import { transcodeAudioCommand, transcodeVideoCommand } from './transcode.ts';

export type MediaJobOptions = {
  task?: string;
  /** Dotted path of the task spec in the body ('' = the body). */
  specPath?: string;
  encoder?: EncoderChoice;
  s3?: S3Client;
};

export type OutputSummary = {
  profile?: string;
  uri: string;
  bytes: number;
  durationSeconds?: number;
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
};

export type MediaResult = {
  task: MediaTask;
  /** The H.264 encoder used (video tasks). */
  encoder?: string;
  encoderReason?: string;
  durationSeconds: number;
  inputBytes: number;
  outputs: OutputSummary[];
  /** Wall time of the ffmpeg run alone, and of the whole job. */
  encodeSeconds: number;
  elapsedSeconds: number;
};

type Progress = JobContext['progress'];

/** Progress bands: downloads 0–5 %, the encode 5–95 %, uploads 95–99 %; the SDK sends 100 at the end. */
const band = (progress: Progress, from: number, to: number, step: string) => (fraction: number) => progress(from + (to - from) * fraction, step);

class Workspace {
  readonly dir: string;
  readonly s3: S3Client;
  readonly progress: Progress;
  inputBytes = 0;
  #count = 0;

  constructor(dir: string, s3: S3Client, progress: Progress) {
    this.dir = dir;
    this.s3 = s3;
    this.progress = progress;
  }

  path(name: string): string {
    return join(this.dir, `${++this.#count}-${name}`);
  }

  /** Downloads an input and probes it; a file ffprobe cannot read is bad input. */
  async input(uri: string, what: string): Promise<{ path: string; info: MediaInfo }> {
    const path = this.path(`input${extname(uri).slice(0, 10)}`);
    this.inputBytes += await downloadFile(this.s3, uri, path);
    try {
      return { path, info: await probe(path) };
    } catch (error) {
      const detail = error instanceof FfmpegError ? error.message.replaceAll(path, uri) : String(error);
      throw badInput(`${what} ${uri} is not readable media: ${detail}`, error);
    }
  }

  async output(path: string, uri: string, contentType: string, profile?: string): Promise<OutputSummary> {
    const info = await probe(path);
    const bytes = await uploadFile(this.s3, path, uri, contentType);
    return {
      profile,
      uri,
      bytes,
      durationSeconds: info.durationSeconds === undefined ? undefined : Math.round(info.durationSeconds * 1000) / 1000,
      videoCodec: info.video?.codec,
      audioCodec: info.audio?.codec,
      width: info.video?.width,
      height: info.video?.height,
      sampleRate: info.audio?.sampleRate,
      channels: info.audio?.channels,
    };
  }
}

type Encode = { durationSeconds: number; make: (encoder: VideoEncoder['name']) => FfmpegCommand };

/**
 * Runs the encode. When auto-detection picked NVENC and it fails mid-run (a session limit, a
 * driver problem), the run is repeated once with libx264 rather than failing the job.
 */
async function encode(job: Encode, encoder: VideoEncoder | undefined, choice: EncoderChoice, progress: Progress): Promise<{ seconds: number; encoder?: VideoEncoder }> {
  const started = performance.now();
  const attempt = (name: VideoEncoder['name']) =>
    run(job.make(name), {
      durationSeconds: job.durationSeconds,
      onProgress: band(progress, 5, 95, encoder ? `encoding (${name})` : 'encoding'),
      onStart: (line) => process.stdout.write(`${line}\n`),
    });
  try {
    await attempt(encoder?.name ?? 'libx264');
  } catch (error) {
    if (!(error instanceof FfmpegError) || encoder?.name !== 'h264_nvenc' || choice !== 'auto') throw error;
    encoder = { name: 'libx264', reason: `h264_nvenc failed during the encode (${error.stderrTail || error.message}); encoded with libx264` };
    await attempt('libx264');
  }
  return { seconds: (performance.now() - started) / 1000, encoder };
}

export async function mediaJob(context: JobContext, options: MediaJobOptions = {}): Promise<MediaResult> {
  const started = performance.now();
  const task = resolveTask(options.task, context.payload.body);
  const where = options.specPath ? `body.${options.specPath}` : 'body';
  const choice = options.encoder ?? 'auto';
  const dir = await mkdtemp(join(tmpdir(), 'sluice-media-'));
  const work = new Workspace(dir, options.s3 ?? s3Client(), context.progress);
  try {
    context.progress(0, 'downloading inputs');
    const spec = pick(context.payload.body, options.specPath);
    let made: { job: Encode; outputs: (path?: string) => Promise<OutputSummary[]>; video: boolean };
    switch (task) {
      case 'slides-to-video':
        made = await planSlides(work, parseSpec(task, spec, where));
        break;
      case 'transcode-video':
        made = await planTranscodeVideo(work, parseSpec(task, spec, where));
        break;
      case 'transcode-audio':
        made = await planTranscodeAudio(work, parseSpec(task, spec, where));
        break;
    }
    const detected = made.video ? await chooseVideoEncoder(choice) : undefined;
    context.progress(5, 'encoding');
    const { seconds, encoder } = await encode(made.job, detected, choice, context.progress);
    context.progress(95, 'uploading outputs');
    const outputs = await made.outputs();
    return {
      task,
      encoder: encoder?.name,
      encoderReason: encoder?.reason,
      durationSeconds: Math.round(made.job.durationSeconds * 1000) / 1000,
      inputBytes: work.inputBytes,
      outputs,
      encodeSeconds: Math.round(seconds * 1000) / 1000,
      elapsedSeconds: Math.round((performance.now() - started) / 10) / 100,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function planSlides(work: Workspace, spec: SlidesSpec) {
  const downloaded = band(work.progress, 0, 5, 'downloading inputs');
  const total = spec.slides.length + spec.slides.filter((s) => s.audio).length + (spec.narration ? 1 : 0);
  let done = 0;
  const next = () => downloaded(++done / total);
  const slides: { image: string; audio?: string; durationSeconds?: number; audioSeconds?: number }[] = [];
  for (const [i, slide] of spec.slides.entries()) {
    const image = await work.input(slide.image, `slide ${i + 1}'s image`);
    next();
    if (!image.info.video) throw badInput(`slide ${i + 1}'s image ${slide.image} has no picture`);
    let audio: { path: string; info: MediaInfo } | undefined;
    if (slide.audio) {
      audio = await work.input(slide.audio, `slide ${i + 1}'s audio`);
      next();
      if (!audio.info.audio) throw badInput(`slide ${i + 1}'s audio ${slide.audio} has no audio stream`);
    }
    slides.push({ image: image.path, audio: audio?.path, durationSeconds: slide.durationSeconds, audioSeconds: audio?.info.durationSeconds });
  }
  let narration: { path: string; info: MediaInfo } | undefined;
  if (spec.narration) {
    narration = await work.input(spec.narration, 'the narration');
    next();
    if (!narration.info.audio || narration.info.durationSeconds === undefined) throw badInput(`the narration ${spec.narration} has no audio stream`);
  }
  const durations = slideDurations(slides, narration?.info.durationSeconds);
  const output = work.path('slides.mp4');
  const plan = (encoder: VideoEncoder['name']) =>
    slidesCommand({
      slides: slides.map((s, i) => ({ image: s.image, audio: s.audio, seconds: durations[i]! })),
      narration: narration?.path,
      width: spec.width,
      height: spec.height,
      fps: spec.fps,
      encoder,
      output,
    });
  return {
    video: true,
    job: { durationSeconds: plan('libx264').durationSeconds, make: (encoder: VideoEncoder['name']) => plan(encoder).cmd },
    outputs: async () => [await work.output(output, spec.output, 'video/mp4')],
  };
}

async function planTranscodeVideo(work: Workspace, spec: TranscodeVideoSpec) {
  const input = await work.input(spec.input, 'input');
  if (!input.info.video) throw badInput(`input ${spec.input} has no video stream`);
  if (!input.info.durationSeconds) throw badInput(`input ${spec.input} has no duration (a still image?)`);
  const targets = outputList(spec, (p) => videoProfiles[p].extension).map((o) => ({ ...o, path: work.path(`${o.profile}.mp4`) }));
  const hasAudio = input.info.audio !== undefined;
  return {
    video: true,
    job: { durationSeconds: input.info.durationSeconds, make: (encoder: VideoEncoder['name']) => transcodeVideoCommand(input.path, targets, { encoder, hasAudio }) },
    outputs: () => uploadAll(work, targets.map((t) => ({ ...t, contentType: 'video/mp4' }))),
  };
}

async function planTranscodeAudio(work: Workspace, spec: TranscodeAudioSpec) {
  const input = await work.input(spec.input, 'input');
  if (!input.info.audio) throw badInput(`input ${spec.input} has no audio stream`);
  if (!input.info.durationSeconds) throw badInput(`input ${spec.input} has no duration`);
  const targets = outputList(spec, (p) => audioProfiles[p].extension).map((o) => ({ ...o, path: work.path(`${o.profile}.${audioProfiles[o.profile].extension}`) }));
  return {
    video: false,
    job: { durationSeconds: input.info.durationSeconds, make: () => transcodeAudioCommand(input.path, targets) },
    outputs: () => uploadAll(work, targets.map((t) => ({ ...t, contentType: audioProfiles[t.profile].contentType }))),
  };
}

async function uploadAll(work: Workspace, targets: { profile: string; uri: string; path: string; contentType: string }[]): Promise<OutputSummary[]> {
  const uploaded = band(work.progress, 95, 99, 'uploading outputs');
  const summaries: OutputSummary[] = [];
  for (const [i, target] of targets.entries()) {
    summaries.push(await work.output(target.path, target.uri, target.contentType, target.profile));
    uploaded((i + 1) / targets.length);
  }
  if (summaries.length === 0) throw new JobError('no outputs were made');
  return summaries;
}
