// Runs the sluice CLI as an SRE would (`kubectl sluice …`), against the local stack.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sluiceBundle } from '../../../hack/lib/cluster.ts';

export async function runSluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [sluiceBundle, ...args], { env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
