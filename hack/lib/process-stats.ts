// CPU and memory of a local process, from /proc (Linux): what the soak and the benchmarks report.
import { readFileSync } from 'node:fs';

/**
 * Resident memory in MiB (zeros when the process is gone), and its split as the kernel counts it:
 * anonymous pages (what the process allocated: V8's heap, malloc, stacks) and file pages (mostly
 * the `node` binary's, shared with every process mapping it).
 */
export function residentMiB(pid: number | undefined): { rss: number; anon: number; file: number } {
  let status = '';
  try {
    if (pid) status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch { /* gone */ }
  const mib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile') };
}

/** Resident memory in MiB; 0 when the process is gone. */
export const rssMiB = (pid: number | undefined): number => residentMiB(pid).rss;

/** User + system CPU seconds used so far (clock ticks are 100 Hz on Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** This process's own CPU time so far, user and system, in microseconds. */
export function ownCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
