import { describe, expect, it } from 'vitest';
import { assertWellFormed, bodyTooLarge, DecodeError, loneSurrogateIndex } from './errors.ts';

describe('loneSurrogateIndex', () => {
  it.each([
    ['', -1],
    ['plain ascii', -1],
    ['Zoë 🎬 ok', -1],
    ['\ud800', 0],
    ['ab\udc00', 2],
    ['🎬\ud83d', 2],
    ['\ud83d\ud83d\ude00', 0],
    ['x\ude00\ud83d', 1],
  ])('%j → %i', (text, index) => {
    expect(loneSurrogateIndex(text)).toBe(index);
  });
});

describe('assertWellFormed', () => {
  it('passes well-formed text', () => {
    expect(() => assertWellFormed('ok 🎬', 'body')).not.toThrow();
  });

  it('throws InvalidUtf8 naming the text, code unit and position', () => {
    let thrown: unknown;
    try {
      assertWellFormed('ab\udfff', 'SNS Message');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DecodeError);
    expect(thrown).toMatchObject({
      reason: 'InvalidUtf8',
      message: 'SNS Message is not valid UTF-8: lone surrogate U+DFFF at position 2',
      position: 2,
    });
  });
});

describe('bodyTooLarge', () => {
  it('states both sizes', () => {
    expect(bodyTooLarge('body', 2_000_000, 1_048_576)).toMatchObject({
      reason: 'BodyTooLarge',
      message: 'body is 2000000 bytes, over the maxBodyBytes limit of 1048576',
    });
  });
});
