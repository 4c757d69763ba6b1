// The media job's encode speed against a bare ffmpeg command on the same input, same machine, same
// run: `node jobs/media/bench.ts [--seconds 15] [--runs 3] [--profile 720p] [--encoder libx264]`.
// The job runs as its container would (its own process, input and output through a private moto
// S3, progress reporting on); the bare command encodes the local file with the same options.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startMoto } from '../s3/test-support/moto.ts';
import { startProgressServer } from '../sdk/test-support/progress-server.ts';
import { videoEncoderOptions, type VideoEncoderName } from './src/encoder.ts';
import type { MediaResult } from './src/job.ts';
import { scaleFilter, videoProfiles, type VideoProfileName } from './src/profiles.ts';
import { makeVideo, runMediaJob } from './test-support/media.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    runs: { type: 'string', default: '3' },
    profile: { type: 'string', default: '720p' },
    encoder: { type: 'string', default: 'libx264' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const profileName = values.profile as VideoProfileName;
const encoder = values.encoder as VideoEncoderName;
const profile = videoProfiles[profileName];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]) => Math.min(...xs);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

const dir = mkdtempSync(join(tmpdir(), 'sluice-media-bench-'));
const [moto, progress] = await Promise.all([startMoto(), startProgressServer()]);
try {
  await moto.createBucket('bench');
  const input = join(dir, 'input.mp4');
  makeVideo(input, { seconds, width: 1920, height: 1080, fps: 30 });
  await moto.client().send(new PutObjectCommand({ Bucket: 'bench', Key: 'input.mp4', Body: readFileSync(input) }));
  const spec = JSON.stringify({ input: 's3://bench/input.mp4', outputs: [{ profile: profileName, uri: 's3://bench/output.mp4' }] });
  const bareArgs = [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-map', '0:v:0', '-vf', scaleFilter(profile.height),
    ...videoEncoderOptions(encoder, profile.quality),
    '-map', '0:a:0', '-c:a', 'aac', '-b:a', profile.audioBitrate, '-ac', '2', '-movflags', '+faststart', join(dir, 'bare.mp4'),
  ];
  const env = { ...moto.env, SLUICE_PROGRESS_URL: progress.url };

  const bare: number[] = [];
  const jobWall: number[] = [];
  const jobEncode: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate, so that a slower phase of the machine affects both alike.
    let started = performance.now();
    execFileSync('ffmpeg', bareArgs);
    bare.push((performance.now() - started) / 1000);

    started = performance.now();
    const run = await runMediaJob(spec, 'json', ['--task', 'transcode-video', '--encoder', encoder], env, dir);
    jobWall.push((performance.now() - started) / 1000);
    if (run.code !== 0) throw new Error(`the media job failed: ${run.stderr}`);
    jobEncode.push((JSON.parse(run.result!) as MediaResult).encodeSeconds);
  }

  const summary = {
    input: `${seconds}s 1920x1080 30 fps H.264 + AAC (testsrc2 + sine)`,
    output: `${profileName} (${encoder} preset ${profile.quality.preset} crf ${profile.quality.crf}, AAC ${profile.audioBitrate})`,
    runs,
    bareFfmpegSeconds: round(median(bare)),
    jobEncodeSeconds: round(median(jobEncode)),
    jobWallSeconds: round(median(jobWall)),
    // > 1 means slower than bare ffmpeg.
    encodeRatio: round(median(jobEncode) / median(bare), 3),
    wallRatio: round(median(jobWall) / median(bare), 3),
    // The fastest of each: least disturbed by other load on a shared machine.
    bestEncodeRatio: round(min(jobEncode) / min(bare), 3),
    bestWallRatio: round(min(jobWall) / min(bare), 3),
    realtimeFactorBare: round(seconds / median(bare)),
    samples: { bare: bare.map((x) => round(x)), jobEncode, jobWall: jobWall.map((x) => round(x)) },
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} finally {
  await Promise.all([moto.stop(), progress.close()]);
  rmSync(dir, { recursive: true, force: true });
}
