// Test media made by a bare ffmpeg (lavfi test patterns and tones), ffprobe for checking outputs
// independently of the job's own probe, and the media job run as its container runs it.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const mediaMain = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** Fails early and clearly where Debian's ffmpeg is missing. */
export function requireFfmpeg(): void {
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
    execFileSync('ffprobe', ['-hide_banner', '-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the media tests need ffmpeg and ffprobe: apt-get install -y --no-install-recommends ffmpeg');
  }
}

const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

export function makeVideo(path: string, options: { seconds: number; width: number; height: number; fps?: number; audio?: boolean }): void {
  const audio = options.audio === false ? [] : ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${options.seconds}`];
  ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.fps ?? 25}:duration=${options.seconds}`,
    ...audio, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...(audio.length ? ['-c:a', 'aac', '-shortest'] : []), path,
  ]);
}

export function makeTone(path: string, seconds: number, options: { frequency?: number; sampleRate?: number; stereo?: boolean } = {}): void {
  const rate = options.sampleRate ?? 44100;
  ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=${options.frequency ?? 440}:sample_rate=${rate}:duration=${seconds}`, ...(options.stereo ? ['-ac', '2'] : []), path]);
}

/** A still of one colour, e.g. `red`, at the given size. */
export function makeImage(path: string, color: string, size = '800x600'): void {
  ffmpeg(['-f', 'lavfi', '-i', `color=c=${color}:s=${size}`, '-frames:v', '1', path]);
}

export type Probed = {
  format: { format_name: string; duration: string; size: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number; pix_fmt?: string }[];
};

export function ffprobe(path: string): Probed {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { encoding: 'utf8' })) as Probed;
}

/** The mean colour of the frame at `seconds` as [r, g, b]. */
export function frameColor(path: string, seconds: number): [number, number, number] {
  const pixel = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', path, '-frames:v', '1', '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  return [pixel[0]!, pixel[1]!, pixel[2]!];
}

export type JobRun = { code: number; stdout: string; stderr: string; result: string | undefined };

/** `node jobs/media/src/main.ts ARGS` with the message in $SLUICE_PAYLOAD, as a Sluice Job pod would run it. */
export function runMediaJob(payload: string, format: 'json' | 'pipe', args: string[], env: Record<string, string>, dir: string): Promise<JobRun> {
  const resultFile = join(dir, `termination-log-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mediaMain, ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, SLUICE_PAYLOAD: payload, SLUICE_PAYLOAD_FORMAT: format, SLUICE_RESULT_FILE: resultFile, SLUICE_JOB_NAME: 'media-test', ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, result: existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : undefined });
      },
    );
  });
}
