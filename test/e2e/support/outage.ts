// For tests that take part of the local stack down and bring it back.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot } from './stack.ts';

/** Runs a hack/ script (local-down.sh NAME, local-up.sh), failing with its stderr. */
export function hack(script: string, ...args: string[]): void {
  try {
    execFileSync('bash', [resolve(repoRoot, 'hack', script), ...args], { stdio: 'pipe', timeout: 90_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`hack/${script} ${args.join(' ')} failed:\n${stderr}`, { cause: error });
  }
}

/** Milliseconds until `action` settles, and its error if it failed. */
export async function timed(action: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await action();
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}
