// The media job end to end on this machine: real ffmpeg, inputs and outputs in a private moto S3,
// progress to a local stand-in for the controller, outputs checked with ffprobe.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../s3/test-support/moto.ts';
import { startProgressServer, type ProgressServer } from '../../sdk/test-support/progress-server.ts';
import { ffprobe, frameColor, makeImage, makeTone, makeVideo, requireFfmpeg, runMediaJob, type JobRun } from '../test-support/media.ts';
import type { MediaResult } from './job.ts';

let moto: Moto;
let progress: ProgressServer;
let dir: string;
let env: Record<string, string>;

async function put(key: string, path: string): Promise<string> {
  await moto.client().send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: readFileSync(path) }));
  return `s3://media/${key}`;
}

async function get(uri: string): Promise<string> {
  const key = uri.replace('s3://media/', '');
  const object = await moto.client().send(new GetObjectCommand({ Bucket: 'media', Key: key }));
  const path = join(dir, key.replaceAll('/', '_'));
  writeFileSync(path, await object.Body!.transformToByteArray());
  return path;
}

const streams = (path: string) => {
  const probed = ffprobe(path);
  return {
    format: probed.format.format_name,
    duration: Number(probed.format.duration),
    video: probed.streams.find((s) => s.codec_type === 'video'),
    audio: probed.streams.find((s) => s.codec_type === 'audio'),
  };
};

const succeeded = (run: JobRun): MediaResult => {
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.result!) as MediaResult;
};

/** Progress a run reported: non-decreasing, ending at 100 once the job succeeded. */
function percentsSince(start: number): number[] {
  return progress.bodies().slice(start).map((b) => b.percent);
}

beforeAll(async () => {
  requireFfmpeg();
  [moto, progress] = await Promise.all([startMoto(), startProgressServer()]);
  await moto.createBucket('media');
  dir = mkdtempSync(join(tmpdir(), 'sluice-media-test-'));
  writeFileSync(join(dir, 'token'), 'media-pod-token');
  env = { ...moto.env, SLUICE_PROGRESS_URL: progress.url, SLUICE_TOKEN_FILE: join(dir, 'token') };
});

afterAll(async () => {
  await Promise.all([moto?.stop(), progress?.close()]);
});

describe('transcode-video', () => {
  it('turns a legacy TRANSCODE_VIDEO|jobId|metadata message into 720p and 480p H.264/AAC MP4s, reporting progress to 100', async () => {
    makeVideo(join(dir, 'talk.mp4'), { seconds: 8, width: 1280, height: 720 });
    const input = await put('uploads/talk.mp4', join(dir, 'talk.mp4'));
    const metadata = { input, outputPrefix: 's3://media/renders/talk/', profiles: ['720p', '480p-preview'] };
    const before = progress.requests.length;

    const run = await runMediaJob(`TRANSCODE_VIDEO|job-42|${JSON.stringify(metadata)}`, 'pipe', ['--spec', 'metadata'], env, dir);

    const result = succeeded(run);
    expect(result).toMatchObject({ task: 'transcode-video', encoder: 'libx264', durationSeconds: expect.closeTo(8, 0) as number });
    if (!existsSync('/dev/nvidia0')) expect(result.encoderReason).toBe('no NVIDIA GPU visible');
    expect(result.outputs.map((o) => [o.profile, o.uri, o.videoCodec, o.audioCodec, o.height])).toEqual([
      ['720p', 's3://media/renders/talk/720p.mp4', 'h264', 'aac', 720],
      ['480p-preview', 's3://media/renders/talk/480p-preview.mp4', 'h264', 'aac', 480],
    ]);
    for (const [output, height, width] of [[result.outputs[0]!, 720, 1280], [result.outputs[1]!, 480, 854]] as const) {
      const probed = streams(await get(output.uri));
      expect(probed.format).toContain('mp4');
      expect(probed.duration).toBeCloseTo(8, 0);
      expect(probed.video).toMatchObject({ codec_name: 'h264', height, width, pix_fmt: 'yuv420p' });
      expect(probed.audio).toMatchObject({ codec_name: 'aac' });
      expect(output.bytes).toBeGreaterThan(10_000);
    }
    expect(result.inputBytes).toBe(readFileSync(join(dir, 'talk.mp4')).length);

    const percents = percentsSince(before);
    expect(percents.at(-1)).toBe(100);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.some((p) => p > 5 && p < 95), `an encoding value among ${percents.join(',')}`).toBe(true);
    expect(new Set(percents).size).toBeGreaterThanOrEqual(3);
    expect(progress.requests.slice(before).every((r) => r.headers.authorization === 'Bearer media-pod-token')).toBe(true);
  });
});

describe('transcode-audio', () => {
  it('writes AAC, MP3, Opus and 16 kHz mono WAV for transcription', async () => {
    makeTone(join(dir, 'voice.wav'), 6, { stereo: true });
    const input = await put('uploads/voice.wav', join(dir, 'voice.wav'));
    const spec = {
      input,
      outputs: [
        { profile: 'aac', uri: 's3://media/audio/voice.m4a' },
        { profile: 'mp3', uri: 's3://media/audio/voice.mp3' },
        { profile: 'opus', uri: 's3://media/audio/voice.opus' },
        { profile: 'wav-16k-mono', uri: 's3://media/audio/voice-16k.wav' },
      ],
    };
    const result = succeeded(await runMediaJob(JSON.stringify({ type: 'TRANSCODE_AUDIO', jobId: 'a-1', metadata: spec }), 'json', ['--spec', 'metadata'], env, dir));
    expect(result.encoder).toBeUndefined();
    const probed = await Promise.all(result.outputs.map(async (o) => streams(await get(o.uri))));
    expect(probed.map((p) => p.audio?.codec_name)).toEqual(['aac', 'mp3', 'opus', 'pcm_s16le']);
    expect(probed.every((p) => p.video === undefined)).toBe(true);
    for (const p of probed) expect(p.duration).toBeCloseTo(6, 0);
    expect(probed[3]!.audio).toMatchObject({ sample_rate: '16000', channels: 1 });
    expect(result.outputs[3]).toMatchObject({ sampleRate: 16000, channels: 1 });
  });
});

describe('slides-to-video', () => {
  it('shows each slide for its narration segment or its given duration', async () => {
    for (const color of ['red', 'lime', 'blue']) makeImage(join(dir, `${color}.png`), color, color === 'lime' ? '640x480' : '1920x1080');
    makeTone(join(dir, 'seg1.mp3'), 1.5);
    makeTone(join(dir, 'seg2.wav'), 2, { frequency: 660 });
    const roleplayVideo = {
      slides: [
        { image: await put('deck/1.png', join(dir, 'red.png')), audio: await put('deck/1.mp3', join(dir, 'seg1.mp3')) },
        { image: await put('deck/2.png', join(dir, 'lime.png')), audio: await put('deck/2.wav', join(dir, 'seg2.wav')) },
        { image: await put('deck/3.png', join(dir, 'blue.png')), durationSeconds: 1 },
      ],
      output: 's3://media/videos/roleplay.mp4',
    };
    const before = progress.requests.length;
    const result = succeeded(await runMediaJob(JSON.stringify({ roleplayVideo, sessionId: 's-9' }), 'json', ['--task', 'slides-to-video', '--spec', 'roleplayVideo'], env, dir));

    // 1.5 s of MP3 probes a little longer (the encoder's padding): the slide follows its segment.
    expect(result).toMatchObject({ task: 'slides-to-video', encoder: 'libx264', durationSeconds: expect.closeTo(4.5, 1) as number });
    const video = await get(result.outputs[0]!.uri);
    const probed = streams(video);
    expect(Math.abs(probed.duration - result.durationSeconds)).toBeLessThan(0.1);
    expect(probed.video).toMatchObject({ codec_name: 'h264', width: 1280, height: 720 });
    expect(probed.audio).toMatchObject({ codec_name: 'aac' });
    const [r1, g1, b1] = frameColor(video, 0.7);
    const [r2, g2, b2] = frameColor(video, 2.5);
    const [r3, g3, b3] = frameColor(video, 4.1);
    expect(r1 > 150 && g1 < 80 && b1 < 80, `red slide at 0.7s: ${[r1, g1, b1].join(',')}`).toBe(true);
    // The 4:3 lime slide is letterboxed: its mean colour is green, darkened by the black bars.
    expect(g2 > 100 && r2 < 60 && b2 < 60, `lime slide at 2.5s: ${[r2, g2, b2].join(',')}`).toBe(true);
    expect(b3 > 150 && r3 < 80 && g3 < 80, `blue slide at 4.1s: ${[r3, g3, b3].join(',')}`).toBe(true);
    expect(percentsSince(before).at(-1)).toBe(100);
  });

  it('splits one narration track among slides without a duration', async () => {
    makeTone(join(dir, 'narration.m4a'), 4);
    const spec = {
      slides: [
        { image: await put('ppt/1.png', join(dir, 'red.png')), durationSeconds: 1 },
        { image: await put('ppt/2.png', join(dir, 'blue.png')) },
      ],
      narration: await put('ppt/narration.m4a', join(dir, 'narration.m4a')),
      output: 's3://media/videos/ppt.mp4',
      width: 640,
      height: 360,
    };
    const result = succeeded(await runMediaJob(JSON.stringify(spec), 'json', ['--task', 'slides-to-video'], env, dir));
    const video = await get(result.outputs[0]!.uri);
    expect(streams(video).duration).toBeCloseTo(4, 0);
    expect(streams(video).video).toMatchObject({ width: 640, height: 360 });
    expect(frameColor(video, 0.5)[0]).toBeGreaterThan(150);
    expect(frameColor(video, 3)[2]).toBeGreaterThan(150);
  });
});

describe('bad input', () => {
  it('exits 2 with one clear line when the input is not readable media', async () => {
    writeFileSync(join(dir, 'corrupt.mp4'), Buffer.concat([Buffer.from('not a video at all '), Buffer.alloc(4096, 0x5a)]));
    const input = await put('uploads/corrupt.mp4', join(dir, 'corrupt.mp4'));
    const before = progress.requests.length;
    const run = await runMediaJob(JSON.stringify({ input, outputs: [{ profile: '720p', uri: 's3://media/out/x.mp4' }] }), 'json', ['--task', 'transcode-video'], env, dir);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^input s3:\/\/media\/uploads\/corrupt\.mp4 is not readable media: .*Invalid data found when processing input/);
    expect(run.stderr).not.toContain(tmpdir());
    expect(run.result).toBe(run.stderr.trim());
    expect(percentsSince(before)).not.toContain(100);
  });

  it('exits 2 when the input object does not exist', async () => {
    const run = await runMediaJob(JSON.stringify({ input: 's3://media/nope.wav', outputPrefix: 's3://media/out', profiles: ['mp3'] }), 'json', ['--task', 'transcode-audio'], env, dir);
    expect(run).toMatchObject({ code: 2, stderr: 's3://media/nope.wav does not exist\n' });
  });

  it('exits 2 on a spec that does not parse, naming the field', async () => {
    const run = await runMediaJob(JSON.stringify({ input: 'https://example.invalid/x.mp4', profiles: ['4k'], outputPrefix: 's3://media/o' }), 'json', ['--task', 'transcode-video'], env, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^the transcode-video spec at body is invalid: input: expected an s3:\/\/bucket\/key URI; profiles\.0: /);
  });

  it('exits 2 when neither --task nor the body says which task', async () => {
    const run = await runMediaJob('{"hello":"world"}', 'json', [], env, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^no media task: pass --task/);
  });
});
