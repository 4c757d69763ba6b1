// A KubeConfig for a local HTTP server standing in for the API server (the JSON client's tests).
import { PooledKubeConfig } from '../kube/client.ts';

export function localKubeConfig(server: string, token = 'secret-token', options: ConstructorParameters<typeof PooledKubeConfig>[0] = {}): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig(options);
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server, skipTLSVerify: true }],
    users: [{ name: 'me', token }],
    contexts: [{ name: 'local', cluster: 'local', user: 'me' }],
    currentContext: 'local',
  });
  return kubeConfig;
}
