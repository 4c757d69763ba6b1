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

/** User + system CPU seconds used so far (clock ticks are 100 Hz on Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
