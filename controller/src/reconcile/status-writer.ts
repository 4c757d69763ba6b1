// Writes a Sluice resource's /status subresource, and only when it changed: reconciles run every
// few seconds and most of them change nothing.
import * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { GROUP, VERSION } from '../api/schemas.ts';
import { kinds, type KindName } from '../api/kinds.ts';
import { isNotFound, type CustomObjectsStatusApi } from '../kube/client.ts';

export type StatusTarget = { apiVersion: string; kind: KindName; namespace: string; name: string };

export class StatusWriter {
  readonly #custom: CustomObjectsStatusApi;

  constructor(custom: CustomObjectsStatusApi) {
    this.#custom = custom;
  }

  async write(target: StatusTarget, previous: unknown, next: object): Promise<void> {
    if (isDeepStrictEqual(withoutUndefined(previous), withoutUndefined(next))) return;
    try {
      await this.#custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: target.namespace, plural: kinds[target.kind].plural, name: target.name, body: { status: next } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (isNotFound(error)) return; // deleted meanwhile
      throw error;
    }
  }
}

function withoutUndefined(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value)) as unknown;
}
