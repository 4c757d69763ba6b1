// The seed systems of manifests/examples on the local stack, as written, with only what must differ
// here changed: queues point at the local SQS, stores at the local ones, and each JobType either runs
// its real image on the exec node — Sluice's job images (`sluice/job-<name>`) as hack/build-images.sh
// built them, with the local S3 and a fake OpenAI server in their environment — or, for an
// application's own image we do not have, is simulated by kwok. Shared by the demo and the e2e tests.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './stack-env.ts';

/**
 * How a JobType runs here: its real image on the exec node, or kwok's pod with these annotations.
 * By default Sluice's job images run for real (GPU JobTypes excepted) and the rest is simulated.
 */
export type HowItRuns = { real: { env?: Record<string, string> } } | { simulated: Record<string, string> };

export type ExampleEnvironment = {
  /** Server-side apply (several examples in one namespace share Secrets). */
  apply: (object: k8s.KubernetesObject) => Promise<unknown>;
  /** Makes a local queue of this name and returns its URL. */
  createQueue: (name: string) => Promise<string>;
  /** Images built by hack/build-images.sh, by name (job-media, job-llm). */
  images: Record<string, string>;
  /** The stack's servers as pods on the exec node reach them. */
  podEnv: { AWS_ENDPOINT_URL: string; AWS_REGION: string };
  stores: { mongodb: string; postgres: string; dynamodbEndpoint: string; region: string };
};

export type ExampleOptions = {
  namespace: string;
  /** Per JobType, how it runs; by default a Sluice job image runs for real and anything else is simulated (succeeding). */
  jobTypes?: Record<string, HowItRuns>;
  /** Environment for every real job (e.g. OPENAI_BASE_URL). */
  realEnv?: Record<string, string>;
  /** Secrets the example reads (name → key → value); store URIs are filled in. */
  secrets?: Record<string, Record<string, string>>;
};

type Spec = Record<string, unknown>;
export type Manifest = k8s.KubernetesObject & { spec: Spec };
export type AppliedExample = { queue: (awsName: string) => string; objects: Manifest[]; real: string[] };

export const EXEC_NODE_PLACEMENT = {
  nodeSelector: { pool: 'exec' },
  tolerations: [{ key: 'sluice.dev/exec-node', operator: 'Exists', effect: 'NoSchedule' }],
};

export async function applyExample(file: string, environment: ExampleEnvironment, options: ExampleOptions): Promise<AppliedExample> {
  const { namespace } = options;
  const queues = new Map<string, string>();
  const local = async (awsUrl: string) => {
    const name = `${namespace}-${awsUrl.split('/').pop()!}`;
    if (!queues.has(name)) queues.set(name, await environment.createQueue(name));
    return queues.get(name)!;
  };
  const manifests = parseAllDocuments(readFileSync(resolve(repoRoot, 'manifests/examples', file), 'utf8')).map((d) => d.toJS() as Manifest);
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const real: string[] = [];
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
      const name = object.metadata.name!;
      const sluiceImage = /^sluice\/(job-[a-z0-9-]+):/.exec(spec.image as string)?.[1];
      // A GPU JobType stays on the simulated GPU pool: the exec node has no GPU.
      const how = options.jobTypes?.[name] ?? (sluiceImage && !spec.gpu ? { real: {} } : { simulated: {} });
      if ('real' in how) {
        const built = sluiceImage && environment.images[sluiceImage];
        if (!built) throw new Error(`${file}: JobType ${name} runs ${String(spec.image)}, which hack/build-images.sh did not build`);
        Object.assign(spec, EXEC_NODE_PLACEMENT, { image: built });
        const env = new Map(((spec.env ?? []) as k8s.V1EnvVar[]).map((e) => [e.name, e]));
        const localEnv = { ...environment.podEnv, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...options.realEnv, ...how.real.env };
        for (const [key, value] of Object.entries(localEnv)) env.set(key, { name: key, value });
        spec.env = [...env.values()];
        real.push(name);
      } else {
        spec.podTemplate = { metadata: { annotations: { 'sim.sluice.dev/duration': '1s', ...how.simulated } } };
      }
    }
    if (object.kind === 'StatusSink') {
      const mongodb = spec.mongodb as { uriSecretRef: { name: string; key: string } } | undefined;
      const postgres = spec.postgres as { uriSecretRef: { name: string; key: string } } | undefined;
      const dynamodb = spec.dynamodb as Spec | undefined;
      for (const [ref, uri] of [[mongodb?.uriSecretRef, environment.stores.mongodb], [postgres?.uriSecretRef, environment.stores.postgres]] as const) {
        if (ref) secrets.set(ref.name, { ...secrets.get(ref.name), [ref.key]: uri });
      }
      if (dynamodb) Object.assign(dynamodb, { endpoint: environment.stores.dynamodbEndpoint, region: environment.stores.region });
    }
  }
  // An example's own Secrets (placeholder URIs) get the local values.
  for (const object of manifests) {
    if (object.kind !== 'Secret' || !secrets.has(object.metadata!.name!)) continue;
    (object as k8s.V1Secret).stringData = { ...(object as k8s.V1Secret).stringData, ...secrets.get(object.metadata!.name!) };
    secrets.delete(object.metadata!.name!);
  }
  for (const [name, data] of secrets) {
    await environment.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data } as k8s.KubernetesObject);
  }
  for (const object of manifests) await environment.apply(object);
  return {
    queue: (awsName) => {
      const url = queues.get(`${namespace}-${awsName}`);
      if (!url) throw new Error(`${file} has no queue ${awsName}`);
      return url;
    },
    objects: manifests,
    real,
  };
}
