// Fails the e2e run at once, with the reason, when the local stack is not up and healthy; then
// bundles the controller from the current sources, which the tests run as the image does.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { buildSluice } from '../../../hack/lib/cluster.ts';
import { repoRoot } from './stack.ts';

export default async function setup(): Promise<void> {
  try {
    execFileSync('bash', [resolve(repoRoot, 'hack/local-status.sh')], { stdio: 'pipe' });
  } catch (error) {
    const out = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`the local stack is not healthy; run hack/local-up.sh\n${out}`, { cause: error });
  }
  await buildSluice();
}
