// Fails the e2e run at once, with the reason, when the local stack is not up and healthy.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot } from './stack.ts';

export default function setup(): void {
  try {
    execFileSync('bash', [resolve(repoRoot, 'hack/local-status.sh')], { stdio: 'pipe' });
  } catch (error) {
    const out = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`the local stack is not healthy; run hack/local-up.sh\n${out}`, { cause: error });
  }
}
