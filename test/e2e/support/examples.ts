// manifests/examples on the local stack for e2e tests (hack/lib/examples.ts does the work), and the
// buckets their jobs write to.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { applyExample as apply, type AppliedExample, type ExampleOptions } from '../../../hack/lib/examples.ts';
import { fromPod } from './exec-node.ts';
import { createQueue, objects } from './sluice.ts';
import { repoRoot, stack } from './stack.ts';

export type { AppliedExample };

/** The images hack/build-images.sh built, by name. */
function builtImages(): Record<string, string> {
  const lines = readFileSync(resolve(repoRoot, '.local/images.env'), 'utf8').split('\n');
  return Object.fromEntries(lines.flatMap((line) => {
    const match = /^SLUICE_IMAGE_([A-Z_]+)=(.+)$/.exec(line);
    return match ? [[match[1]!.toLowerCase().replaceAll('_', '-'), match[2]!]] : [];
  }));
}

export function applyExample(file: string, options: ExampleOptions): Promise<AppliedExample> {
  return apply(file, {
    apply: (object) => objects.patch(object, undefined, undefined, 'sluice-e2e', true, k8s.PatchStrategy.ServerSideApply),
    createQueue,
    images: builtImages(),
    podEnv: { AWS_ENDPOINT_URL: fromPod(stack.awsEndpoint), AWS_REGION: stack.awsRegion },
    stores: { mongodb: stack.mongoUri, postgres: stack.postgresUri, dynamodbEndpoint: stack.awsEndpoint, region: stack.awsRegion },
  }, options);
}

/** Buckets the examples' jobs write to, in the local S3 (they outlive test namespaces: names are global). */
export async function ensureBuckets(...names: string[]): Promise<void> {
  const s3 = new S3Client({ forcePathStyle: true });
  for (const name of names) {
    await s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: unknown) => {
      if (!/BucketAlready(OwnedByYou|Exists)/.test((error as Error).name)) throw error;
    });
  }
}
