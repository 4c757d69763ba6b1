// Video and audio transcoding to named profiles (the Fable service's TRANSCODE_VIDEO and
// TRANSCODE_AUDIO): one ffmpeg run decodes the input once and writes every requested output.
import { videoEncoderOptions, type VideoEncoderName } from './encoder.ts';
import { command, type FfmpegCommand } from './ffmpeg.ts';
import { audioProfiles, scaleFilter, videoProfiles, type AudioProfileName, type VideoProfileName } from './profiles.ts';

export type VideoOutput = { profile: VideoProfileName; path: string };

export function transcodeVideoCommand(input: string, outputs: VideoOutput[], options: { encoder: VideoEncoderName; hasAudio: boolean }): FfmpegCommand {
  const cmd = command().input(input);
  for (const output of outputs) {
    const profile = videoProfiles[output.profile];
    const audio = options.hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', profile.audioBitrate, '-ac', '2'] : ['-an'];
    cmd.output(output.path).outputOptions(
      '-map', '0:v:0', '-vf', scaleFilter(profile.height),
      ...videoEncoderOptions(options.encoder, profile.quality),
      ...audio, '-movflags', '+faststart',
    );
  }
  return cmd;
}

export type AudioOutput = { profile: AudioProfileName; path: string };

export function transcodeAudioCommand(input: string, outputs: AudioOutput[]): FfmpegCommand {
  const cmd = command().input(input);
  for (const output of outputs) {
    const profile = audioProfiles[output.profile];
    cmd.output(output.path).outputOptions('-map', '0:a:0', '-vn', '-c:a', profile.codec, ...profile.options);
  }
  return cmd;
}
