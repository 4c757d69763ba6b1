// The CRDs in crds/ on the real API server: it accepts them as structural, applies their defaults
// exactly as the controller's validation does, rejects invalid objects at apply time with a clear
// message, and prints useful columns. The CRDs stay installed afterwards: applying is idempotent
// and other suites need them.
import * as k8s from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { crdDirectory, isGeneratedFileName } from '../../../controller/src/api/generate-crds.ts';
import { kindNames, kinds, type KindName } from '../../../controller/src/api/kinds.ts';
import { API_VERSION, GROUP, VERSION } from '../../../controller/src/api/schemas.ts';
import { parseSpec } from '../../../controller/src/api/validate.ts';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';

const fieldManager = 'sluice';
const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
const apiextensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
const customObjects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);

type Resource = k8s.KubernetesObject & { spec?: unknown; status?: unknown };
type Table = {
  kind: string;
  columnDefinitions: { name: string; type: string; priority: number }[];
  rows: { cells: unknown[]; object: { metadata: { name: string } } }[];
};

const crdFiles = readdirSync(crdDirectory).filter(isGeneratedFileName);
const readCrdFile = (fileName: string) => readFileSync(resolve(crdDirectory, fileName), 'utf8');

let ns: Awaited<ReturnType<typeof createTestNamespace>>;

beforeAll(async () => {
  for (const fileName of crdFiles) {
    // loadAllYaml builds client-node's model classes: KubernetesObjectApi serializes a built-in kind
    // through them, and would drop the x-kubernetes-* keys of a plain object.
    for (const crd of k8s.loadAllYaml(readCrdFile(fileName)) as k8s.V1CustomResourceDefinition[]) {
      await objects.patch(crd, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
    }
  }
  for (const { plural } of Object.values(kinds)) {
    await eventually(`CRD ${plural}.${GROUP} to be Established`, async () => {
      const crd = await apiextensions.readCustomResourceDefinition({ name: `${plural}.${GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
  await eventually(`${API_VERSION} to be served`, async () => {
    const { resources } = await customObjects.getAPIResources({ group: GROUP, version: VERSION });
    return kindNames.every((kind) => resources.some((r) => r.kind === kind)) ? true : undefined;
  });
  ns = await createTestNamespace('api-crds');
});
afterAll(async () => { await ns?.remove(); });

function apply(kind: KindName, name: string, body: { spec?: unknown; status?: unknown }): Promise<Resource> {
  const object: Resource = { apiVersion: API_VERSION, kind, metadata: { name, namespace: ns.name }, ...body };
  return objects.patch(object, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
}

/** Writes status through the /status subresource, as the controller does. */
async function applyStatus(kind: KindName, name: string, status: unknown): Promise<void> {
  await customObjects.patchNamespacedCustomObjectStatus(
    {
      group: GROUP, version: VERSION, namespace: ns.name, plural: kinds[kind].plural, name, fieldManager, force: true,
      body: { apiVersion: API_VERSION, kind, metadata: { name, namespace: ns.name }, status },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
  );
}

/** The API server's message for an apply it refuses as invalid. */
async function rejection(kind: KindName, name: string, spec: unknown): Promise<string> {
  try {
    await apply(kind, name, { spec });
  } catch (error) {
    if (!(error instanceof k8s.ApiException) || error.code !== 422) throw error;
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { message: string };
    return body.message;
  }
  throw new Error(`the API server accepted ${kind} ${name}`);
}

/** What `kubectl get` prints: the list as a server-side Table. */
async function table(kind: KindName): Promise<Table> {
  return (await customObjects.listNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: ns.name, plural: kinds[kind].plural },
    k8s.setHeaderOptions('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io'),
  )) as Table;
}

/** One row of a Table as column name → cell. */
function row(result: Table, name: string): Record<string, unknown> {
  const found = result.rows.find((r) => r.object.metadata.name === name);
  if (!found) throw new Error(`no row ${name} in the ${result.kind}`);
  return Object.fromEntries(result.columnDefinitions.map((column, i) => [column.name, found.cells[i]]));
}

const queueUrl = 'http://127.0.0.1:15000/000000000000/crd-orders';
const binding = { queueUrl, routes: [{ name: 'all', jobType: 'transcode' }] };
const mongodb = { uriSecretRef: { name: 'mongo', key: 'uri' }, database: 'app' };
const condition = (type: string, status: string) => ({
  type, status, reason: 'Test', message: '', lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('the generated CRDs', () => {
  it('are served with the short names, categories and status subresource kubectl uses', async () => {
    const { resources } = await customObjects.getAPIResources({ group: GROUP, version: VERSION });
    for (const definition of Object.values(kinds)) {
      expect(resources.find((r) => r.name === definition.plural)).toMatchObject({
        kind: definition.kind,
        namespaced: true,
        shortNames: definition.shortNames,
        categories: ['sluice'],
      });
      expect(resources.map((r) => r.name)).toContain(`${definition.plural}/status`);
    }
  });

  it('are stored with the schema exactly as generated', async () => {
    for (const fileName of crdFiles) {
      const generated = parseYaml(readCrdFile(fileName)) as { metadata: { name: string }; spec: { versions: unknown[] } };
      const stored = await apiextensions.readCustomResourceDefinition({ name: generated.metadata.name });
      const storedSpec = (parseYaml(k8s.dumpYaml(stored)) as typeof generated).spec;
      expect(storedSpec.versions).toEqual(generated.spec.versions);
    }
  });
});

describe('defaults applied by the API server', () => {
  it('match what the controller parses, for a minimal QueueBinding', async () => {
    const created = await apply('QueueBinding', 'minimal', { spec: binding });
    const parsed = parseSpec('QueueBinding', binding);
    expect(parsed.success && created.spec).toEqual(parsed.success && parsed.spec);
    expect(created.spec).toMatchObject({
      receive: { waitTimeSeconds: 20, maxMessages: 10, visibilityTimeoutSeconds: 60 },
      message: { format: 'auto', maxBodyBytes: 1048576 },
      routes: [{ name: 'all', when: 'true', jobType: 'transcode' }],
      maxInFlight: 100,
      suspend: false,
    });
  });

  it('match what the controller parses, for a GPU JobType with embedded objects and quantities', async () => {
    const spec = {
      image: 'registry.example/media:1',
      env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }],
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 2 } },
      gpu: { count: 2, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] },
      podTemplate: { spec: { volumes: [{ name: 'scratch', emptyDir: {} }] } },
    };
    const created = await apply('JobType', 'media', { spec });
    const parsed = parseSpec('JobType', spec);
    expect(parsed.success && created.spec).toEqual(parsed.success && parsed.spec);
    expect(created.spec).toMatchObject({
      ...spec,
      gpu: { ...spec.gpu, resourceName: 'nvidia.com/gpu' },
      payload: { mountPath: '/var/run/sluice', fileName: 'payload', envMaxBytes: 4096, sensitive: false },
      retries: { backoffLimit: 2 },
      ttlSecondsAfterFinished: 3600,
    });
  });

  it('leave a complete StatusSink as it is', async () => {
    const created = await apply('StatusSink', 'app-db', { spec: { mongodb } });
    expect(created.spec).toEqual({ mongodb });
  });

  it('keep status out of reach of a spec write', async () => {
    const created = await apply('QueueBinding', 'no-status', { spec: binding, status: { dispatched: 99 } });
    expect(created.status).toBeUndefined();
  });
});

describe('invalid objects rejected at apply time', () => {
  const cases: { what: string; kind: KindName; spec: Record<string, unknown>; message: string }[] = [
    {
      what: 'a dead-letter queue equal to the source queue',
      kind: 'QueueBinding',
      spec: { ...binding, deadLetter: { queueUrl } },
      message: 'deadLetter.queueUrl must differ from queueUrl',
    },
    {
      what: 'a StatusSink with two backends',
      kind: 'StatusSink',
      spec: { mongodb, dynamodb: { table: 'jobs' } },
      message: 'exactly one of mongodb, dynamodb or postgres must be set',
    },
    {
      what: 'a long poll over 20 seconds',
      kind: 'QueueBinding',
      spec: { ...binding, receive: { waitTimeSeconds: 21 } },
      message: 'spec.receive.waitTimeSeconds: Invalid value: 21: spec.receive.waitTimeSeconds in body should be less than or equal to 20',
    },
    {
      what: 'a route without a jobType',
      kind: 'QueueBinding',
      spec: { ...binding, routes: [{ name: 'all' }] },
      message: 'spec.routes[0].jobType: Required value',
    },
    {
      what: 'an unknown message format',
      kind: 'QueueBinding',
      spec: { ...binding, message: { format: 'xml' } },
      message: 'spec.message.format: Unsupported value: "xml": supported values: "auto", "json", "pipe", "text"',
    },
    {
      what: 'GPUs requested through resources.limits',
      kind: 'JobType',
      spec: { image: 'a', gpu: { count: 1 }, resources: { limits: { 'nvidia.com/gpu': 1 } } },
      message: 'set GPUs with gpu.count, not resources.limits',
    },
    {
      what: 'a resource quantity that is not one',
      kind: 'JobType',
      spec: { image: 'a', resources: { requests: { memory: 'lots' } } },
      message: 'spec.resources.requests.memory: Invalid value: "lots"',
    },
  ];

  it.each(cases)('rejects $what, as the controller does', async ({ kind, spec, message }) => {
    const name = `invalid-${cases.findIndex((c) => c.spec === spec)}`;
    expect(await rejection(kind, name, spec)).toContain(message);
    expect(parseSpec(kind, spec).success).toBe(false);
  });
});

describe('printer columns', () => {
  it('show a QueueBinding’s readiness, depth and counters, and its queue as a wide column', async () => {
    await apply('QueueBinding', 'orders', { spec: binding });
    await applyStatus('QueueBinding', 'orders', {
      conditions: [condition('Ready', 'True'), condition('Polling', 'False')],
      approximateMessages: 5,
      approximateMessagesNotVisible: 2,
      dispatched: 7,
      deadLettered: 1,
    });
    const result = await table('QueueBinding');
    expect(result.kind).toBe('Table');
    expect(result.columnDefinitions.find((c) => c.name === 'Queue')?.priority).toBe(1);
    expect(row(result, 'orders')).toMatchObject({
      Name: 'orders', Ready: 'True', Polling: 'False', Visible: 5, InFlight: 2, Dispatched: 7, DeadLettered: 1, Queue: queueUrl,
    });
    expect(row(result, 'orders').Age).toMatch(/^\d+s$/);
  });

  it('show a JobType’s image, GPUs, concurrency and Job counts', async () => {
    await apply('JobType', 'llm', { spec: { image: 'registry.example/llm:2', gpu: { count: 4 }, maxConcurrency: 3 } });
    await applyStatus('JobType', 'llm', { conditions: [condition('Ready', 'True')], active: 1, succeeded: 12, failed: 0 });
    expect(row(await table('JobType'), 'llm')).toMatchObject({
      Ready: 'True', Image: 'registry.example/llm:2', GPUs: 4, MaxConcurrency: 3, Active: 1, Succeeded: 12, Failed: 0,
    });
  });

  it('show whether a StatusSink is reachable and which store it writes to', async () => {
    await apply('StatusSink', 'orders-db', { spec: { mongodb } });
    await applyStatus('StatusSink', 'orders-db', { conditions: [condition('Reachable', 'True')] });
    expect(row(await table('StatusSink'), 'orders-db')).toMatchObject({ Reachable: 'True', MongoDB: 'app' });
  });
});
