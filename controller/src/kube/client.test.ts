import { describe, expect, it } from 'vitest';
import { describeRequest } from './client.ts';

describe('describeRequest', () => {
  it.each([
    ['POST', 'https://k/apis/batch/v1/namespaces/media/jobs', 'create', 'jobs'],
    ['GET', 'https://k/apis/batch/v1/namespaces/media/jobs/render-1', 'get', 'jobs'],
    ['GET', 'https://k/apis/batch/v1/jobs?labelSelector=a%3Db&limit=500', 'list', 'jobs'],
    ['GET', '/apis/batch/v1/jobs?watch=true', 'watch', 'jobs'],
    ['PATCH', 'https://k/apis/batch/v1/namespaces/media/jobs/render-1', 'patch', 'jobs'],
    ['PATCH', 'https://k/apis/sluice.dev/v1alpha1/namespaces/media/queuebindings/fable/status', 'patch', 'queuebindings/status'],
    ['GET', 'https://k/api/v1/namespaces/media/secrets/aws', 'get', 'secrets'],
    ['GET', 'https://k/api/v1/namespaces', 'list', 'namespaces'],
    ['GET', 'https://k/api/v1/namespaces/media', 'get', 'namespaces'],
    ['PUT', 'https://k/apis/coordination.k8s.io/v1/namespaces/sluice/leases/sluice-controller', 'update', 'leases'],
    ['POST', 'https://k/apis/authentication.k8s.io/v1/tokenreviews', 'create', 'tokenreviews'],
    ['DELETE', 'https://k/api/v1/namespaces/media/configmaps/fan-in', 'delete', 'configmaps'],
  ])('%s %s is %s of %s', (method, url, verb, resource) => {
    expect(describeRequest(method, url)).toEqual({ verb, resource });
  });
});
