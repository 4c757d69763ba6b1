// A memory cgroup for one benchmark process: the limit a container's resources.limits.memory sets,
// which Node reads at start to size V8's heap. Linux, as root; cgroup v1's memory controller or v2.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type MemoryCgroup = {
  limitBytes: number;
  /** `command args…` as a command that joins this cgroup before it execs (so Node starts inside it). */
  wrap: (command: string, args: string[]) => [string, string[]];
  /** The most memory the cgroup has used (its page cache included), in bytes. */
  peakBytes: () => number;
  /** Processes the kernel killed for reaching the limit. */
  oomKills: () => number;
  /** Once its processes have exited. */
  remove: () => void;
};

const V1_ROOT = '/sys/fs/cgroup/memory';
const V2_ROOT = '/sys/fs/cgroup';

/** `512Mi`, `1Gi`, `300M` (as a pod's memory limit is written) in bytes. */
export function parseMemoryQuantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(text);
  if (!match) throw new Error(`${text}: expected a memory quantity such as 512Mi`);
  const scale = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Math.round(Number(match[1]) * scale);
}

export function memoryCgroup(name: string, limitBytes: number): MemoryCgroup {
  const v1 = existsSync(join(V1_ROOT, 'memory.limit_in_bytes'));
  if (!v1 && !existsSync(join(V2_ROOT, 'cgroup.controllers'))) throw new Error('no memory cgroup controller under /sys/fs/cgroup');
  const path = join(v1 ? V1_ROOT : V2_ROOT, name);
  mkdirSync(path, { recursive: true });
  try {
    writeFileSync(join(path, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
  } catch (error) {
    throw new Error(`cannot set a memory limit in ${path} (root needed): ${(error as Error).message}`, { cause: error });
  }
  const read = (file: string) => readFileSync(join(path, file), 'utf8');
  const counter = (file: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(read(file))?.[1] ?? 0);
  return {
    limitBytes,
    wrap: (command, args) => ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, command, ...args]],
    peakBytes: () => Number(read(v1 ? 'memory.max_usage_in_bytes' : 'memory.peak')),
    oomKills: () => (v1 ? counter('memory.oom_control', 'oom_kill') : counter('memory.events', 'oom_kill')),
    remove: () => rmdirSync(path),
  };
}
