// Runs the sluice CLI as an SRE would (`kubectl sluice …`), against the local stack.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sluiceBundle } from '../../../hack/lib/cluster.ts';

export type CliResult = { code: number; stdout: string; stderr: string };

/** `node SCRIPT ARGS…` to its end: its exit code and output, a failure included. */
export async function runNodeScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CliResult;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

export function runSluice(...args: string[]): Promise<CliResult> {
  return runNodeScript(sluiceBundle, args);
}
