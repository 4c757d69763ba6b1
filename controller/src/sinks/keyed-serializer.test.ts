import { describe, expect, it } from 'vitest';
import { KeyedSerializer } from './keyed-serializer.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('KeyedSerializer', () => {
  it('runs tasks with the same key one at a time, in call order', async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((name) => serializer.run('record-1', task(name))));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs tasks with different keys side by side', async () => {
    const serializer = new KeyedSerializer();
    let running = 0;
    let most = 0;
    const task = async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    };
    await Promise.all([serializer.run('a', task), serializer.run('b', task), serializer.run('c', task)]);
    expect(most).toBe(3);
  });

  it('goes on after a failed task, passing the failure only to its caller', async () => {
    const serializer = new KeyedSerializer();
    const failed = serializer.run('k', () => Promise.reject(new Error('store down')));
    const next = serializer.run('k', () => Promise.resolve('ok'));
    await expect(failed).rejects.toThrow('store down');
    await expect(next).resolves.toBe('ok');
  });

  it('forgets keys once their tasks have settled', async () => {
    const serializer = new KeyedSerializer();
    await Promise.all([serializer.run('a', tick), serializer.run('b', tick)]);
    await tick();
    expect(serializer.busyKeys).toBe(0);
  });
});
