import { describe, expect, it } from 'vitest';
import { excerptHead, excerptTail, formatBytes, oneLine, truncationNote } from './text.ts';

describe('excerptHead', () => {
  it('keeps short text whole', () => {
    expect(excerptHead('{"a":1}', 2048)).toEqual({ text: '{"a":1}', truncated: false, shownBytes: 7, totalBytes: 7 });
  });

  it('cuts long text to the byte limit and says so', () => {
    const excerpt = excerptHead('x'.repeat(5000), 2048);
    expect(excerpt.text).toHaveLength(2048);
    expect(excerpt.truncated).toBe(true);
    expect(truncationNote(excerpt, 'first')).toBe('truncated: showing the first 2 KiB of 4.9 KiB');
  });

  it('never splits a multi-byte character', () => {
    // "é" is 2 bytes and "🎬" 4: a cut at 3 bytes falls inside the second character.
    expect(excerptHead('éé', 3).text).toBe('é');
    expect(excerptHead('a🎬', 4).text).toBe('a');
    expect(excerptHead('a🎬', 5).text).toBe('a🎬');
  });

  it('counts a payload the caller already cut by its full size', () => {
    const excerpt = excerptHead('abc', 2048, 300_000);
    expect(excerpt).toMatchObject({ text: 'abc', truncated: true, totalBytes: 300_000 });
  });
});

describe('excerptTail', () => {
  it('keeps the end of a log, where the crash is', () => {
    const log = `${'noise\n'.repeat(2000)}Traceback: CUDA out of memory`;
    const excerpt = excerptTail(log, 100);
    expect(excerpt.text.endsWith('Traceback: CUDA out of memory')).toBe(true);
    expect(excerpt.shownBytes).toBeLessThanOrEqual(100);
    expect(excerpt.truncated).toBe(true);
  });

  it('never starts inside a multi-byte character', () => {
    expect(excerptTail('éé', 3).text).toBe('é');
  });
});

describe('oneLine', () => {
  it('removes line breaks so nothing can be smuggled into a mail header', () => {
    expect(oneLine('failed\r\nBcc: victim@example.com', 200)).toBe('failed Bcc: victim@example.com');
  });

  it('shortens with an ellipsis', () => {
    expect(oneLine('abcdef', 4)).toBe('abc…');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect([formatBytes(512), formatBytes(2048), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['512 B', '2 KiB', '1.5 KiB', '3 MiB']);
  });
});
