#!/usr/bin/env node
// The media job image's entrypoint:
//   node jobs/media/src/main.ts [--task slides-to-video|transcode-video|transcode-audio]
//     [--spec <dotted path of the task spec in the body>] [--encoder auto|h264_nvenc|libx264]
// Each flag may also come from the env (SLUICE_MEDIA_TASK, SLUICE_MEDIA_SPEC, SLUICE_MEDIA_ENCODER).
import { parseArgs } from 'node:util';
import { badInput, runJob } from '@sluice/job-sdk';
import { videoEncoders, type EncoderChoice } from './encoder.ts';
import { mediaJob } from './job.ts';

function options() {
  let values: { task?: string; spec?: string; encoder?: string };
  try {
    ({ values } = parseArgs({ options: { task: { type: 'string' }, spec: { type: 'string' }, encoder: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw badInput(`bad arguments: ${(error as Error).message}`);
  }
  const encoder = values.encoder ?? process.env.SLUICE_MEDIA_ENCODER ?? 'auto';
  if (encoder !== 'auto' && !(videoEncoders as readonly string[]).includes(encoder)) {
    throw badInput(`--encoder must be auto, ${videoEncoders.join(' or ')}; got ${JSON.stringify(encoder)}`);
  }
  return {
    task: values.task ?? (process.env.SLUICE_MEDIA_TASK || undefined),
    specPath: values.spec ?? process.env.SLUICE_MEDIA_SPEC ?? '',
    encoder: encoder as EncoderChoice,
  };
}

await runJob((context) => mediaJob(context, options()));
