// CPU and memory of a local process, from /proc (Linux): what the soak and the benchmarks report.
import { readFileSync } from 'node:fs';

/** Resident memory in MiB; 0 when the process is gone. */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * RSS split as the kernel counts it: anonymous pages (what the process allocated: V8's heap,
 * malloc, stacks) and file pages (mostly the `node` binary's, shared with every process mapping
 * it, and how many are resident depends on what else read the file: fault-around maps neighbouring
 * pages already cached). MiB; zeros when the process is gone.
 */
export function rssSplitMiB(pid: number | undefined): { anon: number; file: number } {
  if (!pid) return { anon: 0, file: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return { anon: 0, file: 0 };
  }
}

/** User + system CPU seconds used so far (clock ticks are 100 Hz on Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
