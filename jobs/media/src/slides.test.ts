import { describe, expect, it } from 'vitest';
import { slideDurations } from './slides.ts';

describe('slideDurations', () => {
  it('shows a slide for its given duration, else for its narration segment', () => {
    expect(slideDurations([{ audioSeconds: 2.5 }, { durationSeconds: 4, audioSeconds: 3 }, { durationSeconds: 1 }])).toEqual([2.5, 4, 1]);
  });

  it('shares what remains of one narration track among slides without a duration', () => {
    expect(slideDurations([{ durationSeconds: 2 }, {}, {}], 10)).toEqual([2, 4, 4]);
    expect(slideDurations([{ durationSeconds: 2 }, { durationSeconds: 3 }], 10)).toEqual([2, 3]);
  });

  it('refuses slides it cannot time, as bad input', () => {
    expect(() => slideDurations([{ audioSeconds: 1 }, {}])).toThrow(/slide 2 has neither a narration segment nor durationSeconds/);
    expect(() => slideDurations([{ durationSeconds: 9 }, {}], 9)).toThrow(/nothing left for the 1 slide/);
    try {
      slideDurations([{}]);
    } catch (error) {
      expect(error).toMatchObject({ retryable: false });
    }
    expect.assertions(3);
  });
});
