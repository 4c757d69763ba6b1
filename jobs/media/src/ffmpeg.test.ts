import { describe, expect, it } from 'vitest';
import { diagnostic, timemarkSeconds } from './ffmpeg.ts';

describe('timemarkSeconds', () => {
  it('reads ffmpeg time= marks, negative ones at the start as 0', () => {
    expect(timemarkSeconds('00:01:02.50')).toBe(62.5);
    expect(timemarkSeconds('01:00:00.00')).toBe(3600);
    expect(timemarkSeconds('-00:00:00.04')).toBe(0);
    expect(timemarkSeconds('N/A')).toBe(0);
  });
});

describe('diagnostic', () => {
  it('keeps the last lines that say something, not progress lines or the banner', () => {
    const stderr = 'ffmpeg version 5.1\nframe=  10 fps=0.0 q=0.0 size=0kB\n/tmp/in.mp4: Invalid data found when processing input\n\n';
    expect(diagnostic(stderr)).toBe('/tmp/in.mp4: Invalid data found when processing input');
  });
});
