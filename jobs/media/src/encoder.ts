// Which H.264 encoder a run uses: NVIDIA's hardware encoder when a GPU is visible, ffmpeg has
// h264_nvenc and a tiny probe encode works (the driver's libnvidia-encode must be in the
// container, and not every GPU has NVENC: H100/H200 have none); libx264 otherwise.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const videoEncoders = ['h264_nvenc', 'libx264'] as const;
export type VideoEncoderName = (typeof videoEncoders)[number];
export type EncoderChoice = VideoEncoderName | 'auto';

export type VideoEncoder = { name: VideoEncoderName; reason: string };

/** Runs a command: exit code and output. Injected so the decision is testable without a GPU. */
export type Exec = (file: string, args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export const exec: Exec = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

export type DetectOptions = {
  env?: Record<string, string | undefined>;
  exists?: (path: string) => boolean;
  exec?: Exec;
  ffmpegPath?: string;
};

/** A GPU device node, or the NVIDIA container runtime's variable naming devices. */
export function gpuVisible(env: Record<string, string | undefined>, exists: (path: string) => boolean): boolean {
  const devices = env.NVIDIA_VISIBLE_DEVICES?.trim();
  return exists('/dev/nvidia0') || (devices !== undefined && devices !== '' && devices !== 'void' && devices !== 'none');
}

/** ffmpeg's first error line names the cause ("Cannot load libcuda.so.1"); later ones are generic. */
const firstCause = (text: string) => text.trim().split('\n')[0]?.replace(/^\[[^\]]*\]\s*/, '').trim() ?? '';

export async function detectVideoEncoder(options: DetectOptions = {}): Promise<VideoEncoder> {
  const env = options.env ?? process.env;
  const run = options.exec ?? exec;
  const ffmpeg = options.ffmpegPath ?? (env.FFMPEG_PATH || 'ffmpeg');
  if (!gpuVisible(env, options.exists ?? existsSync)) return { name: 'libx264', reason: 'no NVIDIA GPU visible' };
  const encoders = await run(ffmpeg, ['-hide_banner', '-encoders']);
  if (!/^\s*V\S*\s+h264_nvenc\s/m.test(encoders.stdout)) return { name: 'libx264', reason: 'this ffmpeg has no h264_nvenc encoder' };
  const probe = await run(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=256x256:r=25:d=0.2',
    '-c:v', 'h264_nvenc', '-f', 'null', '-',
  ]);
  if (probe.code !== 0) return { name: 'libx264', reason: `h264_nvenc probe encode failed: ${firstCause(probe.stderr) || `exit ${probe.code}`}` };
  return { name: 'h264_nvenc', reason: 'NVIDIA GPU with a working h264_nvenc' };
}

/** `auto` detects; a named encoder is used as asked (e.g. for benchmarks and tests). */
export async function chooseVideoEncoder(choice: EncoderChoice, options: DetectOptions = {}): Promise<VideoEncoder> {
  if (choice === 'auto') return detectVideoEncoder(options);
  return { name: choice, reason: 'chosen by --encoder' };
}

export type VideoQuality = {
  /** x264 CRF; NVENC's constant-quality target is derived from it. */
  crf: number;
  /** x264 preset; NVENC uses p4 (its medium). */
  preset: string;
  maxrate?: string;
  bufsize?: string;
};

/** Encoder options for one H.264 output, 8-bit 4:2:0 (what every player decodes). */
export function videoEncoderOptions(encoder: VideoEncoderName, quality: VideoQuality): string[] {
  const rate = quality.maxrate ? ['-maxrate', quality.maxrate, '-bufsize', quality.bufsize ?? quality.maxrate] : [];
  if (encoder === 'h264_nvenc') {
    return ['-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'vbr', '-cq', String(quality.crf + 2), '-b:v', '0', ...rate, '-profile:v', 'high', '-pix_fmt', 'yuv420p'];
  }
  return ['-c:v', 'libx264', '-preset', quality.preset, '-crf', String(quality.crf), ...rate, '-profile:v', 'high', '-pix_fmt', 'yuv420p'];
}
