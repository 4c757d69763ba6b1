// Installing Sluice as an SRE would: `helm install` of charts/sluice (namespace-scoped, Secrets by
// name) with the controller image built by hack/build-images.sh on the exec node. The two replicas
// elect a leader and, authenticated only as the chart's ServiceAccount, dispatch messages into Jobs
// and record outcomes, a binding's own dispatchers included; actions outside the chart's RBAC are
// refused by the API server. A real Prometheus scrapes the controller and the dispatchers: every
// dashboard query returns data and every alert evaluates. `helm upgrade` keeps it working;
// `helm uninstall` keeps the CRDs and the user's resources.
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { observabilityQueries } from '../../../hack/observability/queries.ts';
import { fromPod, image, onExecNode } from '../support/exec-node.ts';
import { batch, core, eventually, isNotFound, kubeConfig } from '../support/kube.ts';
import { apply, createQueue, installCrds, releaseJobs, sluiceJobs, sqs } from '../support/sluice.ts';
import { repoRoot, stack } from '../support/stack.ts';

const suffix = Date.now().toString(36).slice(-5);
const release = { name: 'sluice', namespace: `sluice-system-${suffix}` };
const apps = `apps-${suffix}`;
const controllerSa = 'sluice-controller';
const work = mkdtempSync(join(tmpdir(), 'sluice-helm-'));
const mongo = new MongoClient(stack.mongoUri);
const database = `sluice_${apps.replace(/-/g, '_')}`;
const appsApi = kubeConfig.makeApiClient(k8s.AppsV1Api);
const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
const authorization = kubeConfig.makeApiClient(k8s.AuthorizationV1Api);
const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
let queueUrl: string;
let prometheus: ChildProcess | undefined;
let prometheusUrl: string;

/** The cached tools (hack/lib/tools.sh): helm and prometheus. */
const tool = (name: 'HELM' | 'PROMETHEUS') => execFileSync('bash', ['-c', `source hack/lib/common.sh; source hack/lib/tools.sh; echo "$${name}"`], { cwd: repoRoot, encoding: 'utf8' }).trim();
const helm = (...args: string[]) => execFileSync(tool('HELM'), [...args, '--kubeconfig', stack.kubeconfig], { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' });

function chartValues(extra: string[] = []): string[] {
  const [repository, tag] = image('controller').split(':');
  return [
    '-f', 'charts/sluice/ci/local-stack-values.yaml',
    '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`,
    '--set-json', `watchNamespaces=${JSON.stringify([apps])}`,
    '--set-json', `rbac.secretNames=${JSON.stringify(['stores', 'aws'])}`,
    '--set-json', `extraEnv=${JSON.stringify([
      { name: 'AWS_ENDPOINT_URL', value: fromPod(stack.awsEndpoint) },
      { name: 'AWS_ENDPOINT_URL_SQS', value: fromPod(stack.sqsEndpoint) },
      { name: 'AWS_ACCESS_KEY_ID', value: 'test' },
      { name: 'AWS_SECRET_ACCESS_KEY', value: 'test' },
    ])}`,
    ...extra,
  ];
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function promQuery(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  return (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json() as Promise<{ status: string; error?: string; data?: { result: unknown[] } }>;
}

beforeAll(async () => {
  // The CRDs exist already (other tests apply crds/): the chart takes them over.
  await installCrds();
  for (const name of [release.namespace, apps]) await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/test': 'true' } } } });
  queueUrl = fromPod(await createQueue(`${apps}-work`));
  helm('install', release.name, 'charts/sluice', '--namespace', release.namespace, '--take-ownership', '--wait', '--timeout', '240s', ...chartValues());
}, 300_000);

afterAll(async () => {
  prometheus?.kill();
  try {
    helm('uninstall', release.name, '--namespace', release.namespace, '--wait');
  } catch {
    // uninstalled by the test already
  }
  await releaseJobs(apps);
  for (const name of [apps, release.namespace]) await core.deleteNamespace({ name }).catch(() => undefined);
  await mongo.close();
  rmSync(work, { recursive: true, force: true });
});

describe('helm install', () => {
  it('runs two controller replicas from the built image on the exec node, one holding the Lease', async () => {
    const pods = await eventually('two ready controller pods', async () => {
      const list = (await core.listNamespacedPod({ namespace: release.namespace, labelSelector: 'app.kubernetes.io/component=controller' })).items;
      const ready = list.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 2 ? ready : undefined;
    }, 120_000);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe('exec-node-0');
      expect(pod.spec?.serviceAccountName).toBe(controllerSa);
      expect(pod.spec?.containers[0]?.image).toBe(image('controller'));
      expect(pod.spec?.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
    const lease = await eventually('a leader', async () => {
      const current = await coordination.readNamespacedLease({ namespace: release.namespace, name: 'sluice-controller' }).catch(() => undefined);
      return current?.spec?.holderIdentity ? current : undefined;
    });
    expect(pods.map((p) => p.metadata!.name)).toContain(lease.spec!.holderIdentity);
  });

  it('dispatches a message into a Job and records its outcome, as the chart\'s ServiceAccount', async () => {
    await core.createNamespacedSecret({ namespace: apps, body: { metadata: { name: 'stores' }, stringData: { mongodb: fromPod(stack.mongoUri) } } });
    await core.createNamespacedSecret({ namespace: apps, body: { metadata: { name: 'aws' }, stringData: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } } });
    await core.createNamespacedSecret({ namespace: apps, body: { metadata: { name: 'unrelated' }, stringData: { password: 'hunter2' } } });
    await apply('StatusSink', apps, 'records', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
    await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: 'alerts@example.com' }));
    await apply('JobType', apps, 'work', {
      image: 'registry.invalid/worker:1', ttlSecondsAfterFinished: 600,
      notifications: { email: { from: 'alerts@example.com', to: ['oncall@example.com'], endpoint: fromPod(stack.awsEndpoint), region: stack.awsRegion } },
      podTemplate: { metadata: { annotations: { 'sim.sluice.dev/message': '{"ok":true}' } } },
      statusSink: { name: 'records', table: 'work', key: { field: 'id', value: 'body.id' }, fields: { result: 'result' } },
    });
    await apply('QueueBinding', apps, 'work', { queueUrl, receive: { waitTimeSeconds: 1 }, routes: [{ name: 'all', jobType: 'work' }] });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ id: 'installed-1' }) }));
    const record = await eventually('the record to be succeeded', async () => {
      const doc = await mongo.db(database).collection('work').findOne({ id: 'installed-1' });
      return doc?.status === 'succeeded' ? doc : undefined;
    }, 120_000);
    expect(record.result).toEqual({ ok: true });
    expect(await sluiceJobs(apps)).toHaveLength(1);
  });

  it('runs a binding\'s own dispatchers from the same image', async () => {
    const dispatchQueue = fromPod(await createQueue(`${apps}-own`));
    await apply('QueueBinding', apps, 'own', {
      queueUrl: dispatchQueue, endpoint: fromPod(stack.sqsEndpoint), region: stack.awsRegion,
      credentials: { secretRef: { name: 'aws' } },
      receive: { waitTimeSeconds: 1 },
      routes: [{ name: 'all', jobType: 'work' }],
      dispatcher: { mode: 'deployment', autoscaling: { minReplicas: 1, maxReplicas: 2, pollingIntervalSeconds: 2 }, ...onExecNode },
    });
    await eventually('a ready dispatcher pod', async () => {
      const deployment = await appsApi.readNamespacedDeployment({ namespace: apps, name: 'sluice-dispatch-own' }).catch(() => undefined);
      return (deployment?.status?.readyReplicas ?? 0) >= 1 ? true : undefined;
    }, 120_000);
    await sqs.send(new SendMessageCommand({ QueueUrl: dispatchQueue, MessageBody: JSON.stringify({ id: 'own-1' }) }));
    const job = await eventually('the dispatcher pod\'s Job', async () => (await sluiceJobs(apps, 'sluice.dev/binding=own'))[0], 90_000);
    expect(job.metadata?.labels?.['sluice.dev/dispatcher']).toMatch(/^sluice-dispatch-own-/);
  });

  it('is refused what the chart\'s RBAC does not allow', async () => {
    const user = `system:serviceaccount:${release.namespace}:${controllerSa}`;
    const can = async (attributes: k8s.V1ResourceAttributes) =>
      (await authorization.createSubjectAccessReview({ body: { spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${release.namespace}`], resourceAttributes: attributes } } })).status?.allowed;
    expect(await can({ namespace: apps, verb: 'create', group: 'batch', resource: 'jobs' })).toBe(true);
    expect(await can({ namespace: apps, verb: 'get', resource: 'secrets', name: 'stores' })).toBe(true);
    expect(await can({ namespace: apps, verb: 'get', resource: 'secrets', name: 'unrelated' })).toBe(false);
    expect(await can({ namespace: 'kube-system', verb: 'get', resource: 'secrets', name: 'stores' })).toBe(false);
    expect(await can({ namespace: 'kube-system', verb: 'delete', group: 'apps', resource: 'deployments', name: 'coredns' })).toBe(false);
    expect(await can({ verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' })).toBe(false);
    // And for real, with the ServiceAccount's own token.
    const token = (await core.createNamespacedServiceAccountToken({ namespace: release.namespace, name: controllerSa, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status!.token;
    const asController = new k8s.KubeConfig();
    asController.loadFromOptions({
      clusters: [{ name: 'local', server: kubeConfig.getCurrentCluster()!.server, caFile: kubeConfig.getCurrentCluster()!.caFile }],
      users: [{ name: 'controller', token }], contexts: [{ name: 'c', cluster: 'local', user: 'controller' }], currentContext: 'c',
    });
    const coreAs = asController.makeApiClient(k8s.CoreV1Api);
    await expect(coreAs.readNamespacedSecret({ namespace: apps, name: 'unrelated' })).rejects.toMatchObject({ code: 403 });
    await expect(coreAs.readNamespacedSecret({ namespace: apps, name: 'stores' })).resolves.toBeDefined();
  });
});

describe('observed by a real Prometheus', () => {
  beforeAll(async () => {
    // What the chart's PodMonitors select: the controller pods and the dispatcher pods, port metrics.
    const rules = parse(readFileSync(resolve(repoRoot, 'manifests/observability/prometheus-rule.yaml'), 'utf8')) as { spec: unknown };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules.spec));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    writeFileSync(join(work, 'prometheus.yaml'), stringify({
      global: { scrape_interval: '2s', evaluation_interval: '2s' },
      rule_files: [join(work, 'rules.yaml')],
      scrape_configs: [{
        job_name: 'sluice',
        // Sluice's own namespace label is the binding's namespace, not the pod's.
        honor_labels: true,
        kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: stack.kubeconfig, namespaces: { names: [release.namespace, apps] } }],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'sluice', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
          { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], target_label: 'component' },
        ],
      }],
    }));
    prometheus = spawn(tool('PROMETHEUS'), [
      `--config.file=${join(work, 'prometheus.yaml')}`, `--storage.tsdb.path=${join(work, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'ignore'] });
    await eventually('Prometheus to scrape both controllers and the dispatcher', async () => {
      const targets = await (await fetch(`${prometheusUrl}/api/v1/targets`)).json() as { data: { activeTargets: { health: string; labels: { component?: string } }[] } };
      const up = targets.data.activeTargets.filter((t) => t.health === 'up');
      return up.filter((t) => t.labels.component === 'controller').length === 2 && up.some((t) => t.labels.component === 'dispatcher') ? true : undefined;
    }, 120_000, 1000);
    // A failing message too, so the dead-letter and failure panels have something.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'no route takes plain text' }));
    await new Promise((r) => setTimeout(r, 15_000));
  }, 240_000);

  it('answers every dashboard panel\'s query with data', async () => {
    const empty: string[] = [];
    for (const { source, expr } of observabilityQueries({ namespace: apps }).filter((q) => q.source.startsWith('panel'))) {
      const answer = await promQuery(expr);
      expect(answer.status, `${source}: ${expr}: ${answer.error ?? ''}`).toBe('success');
      if ((answer.data?.result.length ?? 0) === 0) empty.push(`${source}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it('evaluates every alert without error', async () => {
    for (const { source, expr } of observabilityQueries().filter((q) => q.source.startsWith('alert'))) {
      const answer = await promQuery(expr);
      expect(answer.status, `${source}: ${answer.error ?? ''}`).toBe('success');
    }
    const rules = await (await fetch(`${prometheusUrl}/api/v1/rules`)).json() as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
  });
});

describe('helm upgrade and uninstall', () => {
  it('keeps dispatching after an upgrade', async () => {
    helm('upgrade', release.name, 'charts/sluice', '--namespace', release.namespace, '--wait', '--timeout', '240s', ...chartValues(['--set', 'logLevel=info']));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ id: 'upgraded-1' }) }));
    await eventually('the record of the message sent after the upgrade', async () => {
      const doc = await mongo.db(database).collection('work').findOne({ id: 'upgraded-1' });
      return doc?.status === 'succeeded' ? doc : undefined;
    }, 120_000);
  });

  it('uninstalls, keeping the CRDs and the user\'s resources', async () => {
    helm('uninstall', release.name, '--namespace', release.namespace, '--wait');
    await eventually('the controller Deployment to go', async () => (await appsApi.readNamespacedDeployment({ namespace: release.namespace, name: 'sluice-controller' }).catch((error: unknown) => (isNotFound(error) ? null : undefined))) === null ? true : undefined);
    for (const name of ['queuebindings.sluice.dev', 'jobtypes.sluice.dev', 'statussinks.sluice.dev']) {
      expect((await extensions.readCustomResourceDefinition({ name })).metadata?.name).toBe(name);
    }
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    expect(await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: apps, plural: 'queuebindings', name: 'work' })).toBeDefined();
    expect((await batch.listNamespacedJob({ namespace: apps })).items.length).toBeGreaterThanOrEqual(2);
  });
});
