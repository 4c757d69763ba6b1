// Target profiles: what each named output is. Video outputs are H.264 + AAC in MP4 (faststart for
// progressive playback), never upscaled; audio outputs cover playback and transcription.
import type { VideoQuality } from './encoder.ts';

export type VideoProfile = {
  /** Output height; smaller inputs keep their own. */
  height: number;
  quality: VideoQuality;
  audioBitrate: string;
  extension: 'mp4';
};

export const videoProfiles = {
  '1080p': { height: 1080, quality: { crf: 21, preset: 'fast', maxrate: '6M', bufsize: '12M' }, audioBitrate: '160k', extension: 'mp4' },
  '720p': { height: 720, quality: { crf: 22, preset: 'fast', maxrate: '3500k', bufsize: '7M' }, audioBitrate: '128k', extension: 'mp4' },
  '480p-preview': { height: 480, quality: { crf: 28, preset: 'veryfast', maxrate: '1200k', bufsize: '2400k' }, audioBitrate: '96k', extension: 'mp4' },
} as const satisfies Record<string, VideoProfile>;
export type VideoProfileName = keyof typeof videoProfiles;
export const videoProfileNames = Object.keys(videoProfiles) as [VideoProfileName, ...VideoProfileName[]];

/** Even dimensions (4:2:0 needs them), the profile's height at most, the input's aspect ratio. */
export function scaleFilter(height: number): string {
  return `scale=w=-2:h='trunc(min(${height},ih)/2)*2'`;
}

export type AudioProfile = {
  codec: string;
  options: string[];
  extension: string;
  contentType: string;
};

export const audioProfiles = {
  aac: { codec: 'aac', options: ['-b:a', '128k', '-movflags', '+faststart'], extension: 'm4a', contentType: 'audio/mp4' },
  mp3: { codec: 'libmp3lame', options: ['-b:a', '128k'], extension: 'mp3', contentType: 'audio/mpeg' },
  opus: { codec: 'libopus', options: ['-b:a', '64k'], extension: 'opus', contentType: 'audio/ogg' },
  // What speech-to-text services want: 16 kHz mono 16-bit PCM.
  'wav-16k-mono': { codec: 'pcm_s16le', options: ['-ac', '1', '-ar', '16000'], extension: 'wav', contentType: 'audio/wav' },
} as const satisfies Record<string, AudioProfile>;
export type AudioProfileName = keyof typeof audioProfiles;
export const audioProfileNames = Object.keys(audioProfiles) as [AudioProfileName, ...AudioProfileName[]];
