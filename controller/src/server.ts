// /healthz (the process is alive), /readyz (caches synced; a standby is ready too) and /metrics.
import { createServer, type Server } from 'node:http';
import { registry } from './metrics.ts';

export type HealthServerOptions = { bindAddress: string; ready: () => boolean };

export function parseBindAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at) || '0.0.0.0';
  const port = Number(address.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid bind address ${address}: want HOST:PORT or :PORT`);
  }
  return { host, port };
}

export async function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const { host, port } = parseBindAddress(options.bindAddress);
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      response.writeHead(200).end('ok');
    } else if (path === '/readyz') {
      const ready = options.ready();
      response.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'not ready');
    } else if (path === '/metrics') {
      registry.metrics().then(
        (body) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
