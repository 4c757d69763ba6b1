import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectVideoEncoder, videoEncoderOptions, type Exec } from './encoder.ts';

const ENCODERS_WITH_NVENC = ' V....D libx264              libx264 H.264\n V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)\n';
const ENCODERS_WITHOUT = ' V....D libx264              libx264 H.264\n';

/** A fake ffmpeg: `-encoders` lists what it is given; the probe encode exits with probeCode. */
function fakeFfmpeg(encoders: string, probeCode: number, probeStderr = ''): Exec & { calls: string[][] } {
  const calls: string[][] = [];
  const exec = ((_file: string, args: string[]) => {
    calls.push(args);
    if (args.includes('-encoders')) return Promise.resolve({ code: 0, stdout: encoders, stderr: '' });
    return Promise.resolve({ code: probeCode, stdout: '', stderr: probeStderr });
  }) as Exec & { calls: string[][] };
  exec.calls = calls;
  return exec;
}

describe('detectVideoEncoder', () => {
  it.each([
    ['no GPU device and no NVIDIA_VISIBLE_DEVICES', {}, false, ENCODERS_WITH_NVENC, 0, 'libx264', 'no NVIDIA GPU visible'],
    ['NVIDIA_VISIBLE_DEVICES=void (the runtime hides GPUs)', { NVIDIA_VISIBLE_DEVICES: 'void' }, false, ENCODERS_WITH_NVENC, 0, 'libx264', 'no NVIDIA GPU visible'],
    ['a GPU but an ffmpeg without h264_nvenc', { NVIDIA_VISIBLE_DEVICES: 'all' }, false, ENCODERS_WITHOUT, 0, 'libx264', 'this ffmpeg has no h264_nvenc encoder'],
    ['a GPU whose probe encode fails', {}, true, ENCODERS_WITH_NVENC, 1, 'libx264', 'h264_nvenc probe encode failed: No capable devices found'],
    ['a GPU with a working NVENC', { NVIDIA_VISIBLE_DEVICES: '0' }, false, ENCODERS_WITH_NVENC, 0, 'h264_nvenc', 'NVIDIA GPU with a working h264_nvenc'],
  ])('%s → %s', async (_case, env, device, encoders, probeCode, name, reason) => {
    const exec = fakeFfmpeg(encoders, probeCode, '[h264_nvenc @ 0x5] No capable devices found\nError initializing output stream 0:0 -- generic');
    const encoder = await detectVideoEncoder({ env, exists: (path) => device && path === '/dev/nvidia0', exec });
    expect(encoder).toEqual({ name, reason });
  });

  it('probes with a real h264_nvenc encode, not just the encoder list', async () => {
    const exec = fakeFfmpeg(ENCODERS_WITH_NVENC, 0);
    await detectVideoEncoder({ env: { NVIDIA_VISIBLE_DEVICES: 'all' }, exists: () => false, exec });
    expect(exec.calls[1]).toEqual(expect.arrayContaining(['-c:v', 'h264_nvenc', '-f', 'null']));
  });

  it('falls back to libx264 with the real ffmpeg when a GPU is claimed but no NVENC driver is loadable', async () => {
    // Debian's ffmpeg has the h264_nvenc wrapper; without the NVIDIA driver's libraries its probe fails.
    const encoder = await detectVideoEncoder({ env: { NVIDIA_VISIBLE_DEVICES: 'all' } });
    if (!existsSync('/dev/nvidia0')) {
      expect(encoder.name).toBe('libx264');
      expect(encoder.reason).toMatch(/^h264_nvenc probe encode failed: Cannot load lib(cuda|nvidia-encode)\.so\.1$/);
    } else {
      expect(encoder.name === 'h264_nvenc' || /probe encode failed/.test(encoder.reason)).toBe(true);
    }
  });
});

describe('videoEncoderOptions', () => {
  it('maps one quality to x264 CRF or NVENC constant quality, both 8-bit 4:2:0 High profile', () => {
    expect(videoEncoderOptions('libx264', { crf: 22, preset: 'fast', maxrate: '3M' })).toEqual([
      '-c:v', 'libx264', '-preset', 'fast', '-crf', '22', '-maxrate', '3M', '-bufsize', '3M', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    ]);
    expect(videoEncoderOptions('h264_nvenc', { crf: 22, preset: 'fast' })).toEqual([
      '-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'vbr', '-cq', '24', '-b:v', '0', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    ]);
  });
});
