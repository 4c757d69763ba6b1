// The error predicates and request options against the real API server's responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiStatus, isAlreadyExists, isConflict, isNotFound, requestTimeout,
} from '../../../controller/src/kube/client.ts';
import { core, createTestNamespace } from '../support/kube.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
beforeAll(async () => { ns = await createTestNamespace('kube-client'); });
afterAll(async () => { await ns?.remove(); });

const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected the call to fail'); }, (e: unknown) => e);

describe('API error predicates', () => {
  it('recognises NotFound', async () => {
    const error = await failure(core.readNamespacedConfigMap({ namespace: ns.name, name: 'missing' }));
    expect(isNotFound(error)).toBe(true);
    expect(isConflict(error) || isAlreadyExists(error)).toBe(false);
    expect(apiStatus(error)).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('tells AlreadyExists from Conflict', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'cm' } } });
    const duplicate = await failure(core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'cm' } } }));
    expect(isAlreadyExists(duplicate)).toBe(true);
    expect(isConflict(duplicate)).toBe(false);

    await core.replaceNamespacedConfigMap({ namespace: ns.name, name: 'cm', body: { ...created, data: { a: '1' } } });
    const stale = await failure(core.replaceNamespacedConfigMap({ namespace: ns.name, name: 'cm', body: { ...created, data: { a: '2' } } }));
    expect(isConflict(stale)).toBe(true);
    expect(isAlreadyExists(stale)).toBe(false);
  });

  it('gives up on a request after the timeout', async () => {
    const error = await failure(core.listNamespacedConfigMap({ namespace: ns.name }, requestTimeout(1)));
    expect(apiStatus(error)).toBeUndefined();
    expect(String(error)).toMatch(/abort|timeout/i);
    await expect(core.listNamespacedConfigMap({ namespace: ns.name }, requestTimeout(10_000))).resolves.toBeDefined();
  });
});
