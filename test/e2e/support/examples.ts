// The seed systems of manifests/examples applied to the local stack as they are written, with only
// what must differ here changed: queues point at the local SQS, stores at the local ones, and each
// JobType either runs its real image on the exec node (with the local S3 and a fake OpenAI server
// in its environment) or, for an application's own image we do not have, is simulated by kwok.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fromPod, onExecNode } from './exec-node.ts';
import { core } from './kube.ts';
import { createQueue, objects } from './sluice.ts';
import { repoRoot, stack } from './stack.ts';

export type HowItRuns =
  | { real: { image: string; env?: Record<string, string> } }
  | { simulated: Record<string, string> };

export type ExampleOptions = {
  namespace: string;
  /** Every JobType of the example, by name. */
  jobTypes: Record<string, HowItRuns>;
  /** Secrets the example's JobTypes and StatusSinks read (name → key → value); store URIs are filled in. */
  secrets?: Record<string, Record<string, string>>;
};

type Spec = Record<string, unknown>;
type Manifest = k8s.KubernetesObject & { spec: Spec };

/** What an example's queue (by its name in AWS) is here. */
export type AppliedExample = { queue: (awsName: string) => string; objects: Manifest[] };

export async function applyExample(file: string, options: ExampleOptions): Promise<AppliedExample> {
  const { namespace } = options;
  const queues = new Map<string, string>();
  const local = async (awsUrl: string) => {
    const name = `${namespace}-${awsUrl.split('/').pop()!}`;
    if (!queues.has(name)) queues.set(name, await createQueue(name));
    return queues.get(name)!;
  };
  const manifests = parseAllDocuments(readFileSync(resolve(repoRoot, 'manifests/examples', file), 'utf8')).map((d) => d.toJS() as Manifest);
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  for (const object of manifests) {
    object.metadata = { ...object.metadata, namespace };
    const spec = object.spec;
    if (object.kind === 'QueueBinding') {
      spec.queueUrl = await local(spec.queueUrl as string);
      const deadLetter = spec.deadLetter as { queueUrl: string } | undefined;
      if (deadLetter) deadLetter.queueUrl = await local(deadLetter.queueUrl);
      spec.receive = { ...(spec.receive as Spec | undefined), waitTimeSeconds: 1 };
    }
    if (object.kind === 'JobType') {
      for (const send of [spec.onSuccess, (spec.fanIn as Spec | undefined)?.send] as (Spec | undefined)[]) {
        if (send) send.queueUrl = await local(send.queueUrl as string);
      }
      const how = options.jobTypes[object.metadata.name!];
      if (!how) throw new Error(`${file}: say how JobType ${object.metadata.name} runs here`);
      if ('real' in how) {
        Object.assign(spec, onExecNode, { image: how.real.image });
        const env = new Map(((spec.env ?? []) as k8s.V1EnvVar[]).map((e) => [e.name, e]));
        const localEnv = {
          AWS_ENDPOINT_URL: fromPod(stack.awsEndpoint), AWS_REGION: stack.awsRegion, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...how.real.env,
        };
        for (const [name, value] of Object.entries(localEnv)) env.set(name, { name, value });
        spec.env = [...env.values()];
      } else {
        spec.podTemplate = { metadata: { annotations: { 'sim.sluice.dev/duration': '1s', ...how.simulated } } };
      }
    }
    if (object.kind === 'StatusSink') {
      const mongodb = spec.mongodb as { uriSecretRef: { name: string; key: string } } | undefined;
      const postgres = spec.postgres as { uriSecretRef: { name: string; key: string } } | undefined;
      const dynamodb = spec.dynamodb as Spec | undefined;
      for (const [ref, uri] of [[mongodb?.uriSecretRef, stack.mongoUri], [postgres?.uriSecretRef, stack.postgresUri]] as const) {
        if (ref) secrets.set(ref.name, { ...secrets.get(ref.name), [ref.key]: uri });
      }
      if (dynamodb) Object.assign(dynamodb, { endpoint: stack.awsEndpoint, region: stack.awsRegion });
    }
  }
  for (const [name, data] of secrets) {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
  }
  for (const object of manifests) {
    await objects.patch(object, undefined, undefined, 'sluice-e2e', true, k8s.PatchStrategy.ServerSideApply);
  }
  return {
    queue: (awsName) => {
      const url = queues.get(`${namespace}-${awsName}`);
      if (!url) throw new Error(`${file} has no queue ${awsName}`);
      return url;
    },
    objects: manifests,
  };
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
