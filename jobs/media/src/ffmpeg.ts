// ffmpeg and ffprobe through fluent-ffmpeg (the maintained @modernized fork): a command runs to a
// promise with progress as a fraction of the known output duration; a probe summarises a file.
import ffmpeg from '@modernized/fluent-ffmpeg';

export type FfmpegCommand = ReturnType<typeof ffmpeg>;

/** A new command. skipMetadata: percent comes from the duration we know, not from a probe of input 0. */
export function command(): FfmpegCommand {
  return ffmpeg({ skipMetadata: true, stdoutLines: 40 });
}

/** What failed in an ffmpeg run: its last stderr lines, the useful part of ffmpeg's diagnostics. */
export class FfmpegError extends Error {
  readonly stderrTail: string;

  constructor(message: string, stderrTail: string) {
    super(message);
    this.name = 'FfmpegError';
    this.stderrTail = stderrTail;
  }
}

/** The last lines that say something (not progress lines, not the banner). */
export function diagnostic(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(frame|size)=/.test(line) && !line.startsWith('ffmpeg version') && !line.startsWith('ffprobe version'))
    .slice(-lines)
    .join('; ');
}

/** "HH:MM:SS.ss" (ffmpeg's time=, possibly negative at the start) → seconds. */
export function timemarkSeconds(timemark: string): number {
  const match = /^(-)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(timemark.trim());
  if (!match) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
  return match[1] ? 0 : seconds;
}

export type RunOptions = {
  /** Output duration in seconds: progress is out_time / this. */
  durationSeconds: number;
  onProgress?: (fraction: number) => void;
  /** The ffmpeg command line, for logs. */
  onStart?: (commandLine: string) => void;
};

export function run(cmd: FfmpegCommand, options: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    cmd
      .on('start', (line: string) => options.onStart?.(line))
      .on('progress', (progress: { timemark?: string }) => {
        if (!options.onProgress || !progress.timemark || options.durationSeconds <= 0) return;
        options.onProgress(Math.min(1, timemarkSeconds(progress.timemark) / options.durationSeconds));
      })
      .on('error', (...args: unknown[]) => {
        const [error, , stderr] = args as [Error, string | undefined, string | undefined];
        const tail = diagnostic(stderr ?? '');
        reject(new FfmpegError(`ffmpeg failed: ${tail || error.message}`, tail));
      })
      .on('end', () => resolve())
      .run();
  });
}

export type StreamInfo = { codec: string; width?: number; height?: number; sampleRate?: number; channels?: number };

export type MediaInfo = {
  formatName: string;
  /** Undefined for stills (an image has no duration). */
  durationSeconds: number | undefined;
  bytes: number | undefined;
  video?: StreamInfo;
  audio?: StreamInfo;
};

const finite = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : undefined;
};

/** ffprobe's view of a file; rejects with ffprobe's own diagnostic when it is not readable media. */
export function probe(file: string): Promise<MediaInfo> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, (error, data) => {
      if (error) return reject(new FfmpegError(diagnostic(error.message, 2) || error.message, error.message));
      const video = data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
      const audio = data.streams.find((s) => s.codec_type === 'audio');
      resolve({
        formatName: data.format.format_name ?? 'unknown',
        durationSeconds: finite(data.format.duration),
        bytes: finite(data.format.size),
        video: video && { codec: video.codec_name ?? 'unknown', width: video.width, height: video.height },
        audio: audio && { codec: audio.codec_name ?? 'unknown', sampleRate: finite(audio.sample_rate), channels: audio.channels },
      });
    });
  });
}
