import { describe, expect, it } from 'vitest';
import { QueueDepthSchedule } from './queue-depth-schedule.ts';

describe('QueueDepthSchedule', () => {
  it('reads a queue it has not read yet, and one that held messages, every round', () => {
    const schedule = new QueueDepthSchedule(30_000);
    expect(schedule.due('ns/a', 0, 0)).toBe(true);
    schedule.read('ns/a', 0, 0, 3);
    expect(schedule.due('ns/a', 5_000, 0)).toBe(true);
  });

  it('reads an empty queue again after the idle interval, or as soon as its dispatcher received something', () => {
    const schedule = new QueueDepthSchedule(30_000);
    schedule.read('ns/a', 0, 7, 0);
    expect(schedule.due('ns/a', 29_999, 7)).toBe(false);
    expect(schedule.due('ns/a', 30_000, 7)).toBe(true);
    expect(schedule.due('ns/a', 5_000, 8)).toBe(true);
  });

  it('goes by time alone for a binding whose dispatcher runs elsewhere', () => {
    const schedule = new QueueDepthSchedule(30_000);
    schedule.read('ns/a', 0, undefined, 0);
    expect(schedule.due('ns/a', 10_000, undefined)).toBe(false);
    expect(schedule.due('ns/a', 30_000, undefined)).toBe(true);
  });

  it('starts over for a binding it forgot (stopped, or its queue changed)', () => {
    const schedule = new QueueDepthSchedule(30_000);
    schedule.read('ns/a', 0, 0, 0);
    schedule.forget('ns/a');
    expect(schedule.due('ns/a', 1, 0)).toBe(true);
  });
});
