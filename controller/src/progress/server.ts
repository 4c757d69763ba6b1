// The progress API job pods call: `POST /v1/progress` with the pod's projected ServiceAccount token
// as a bearer token and `{"percent": 40, "step": "rendering"}`. Every controller replica serves it
// (the checks and the write need no leader). Answers: 204 recorded; 400 invalid body; 401 no or
// invalid token; 403 not this pod's Job; 409 the Job finished; 429 too many; 503 try again.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from '../log.ts';
import { parseBindAddress } from '../server.ts';
import type { ProgressService } from './progress.ts';

export const PROGRESS_PATH = '/v1/progress';
const MAX_BODY_BYTES = 4096;

export async function startProgressServer(bindAddress: string, service: ProgressService, log: Logger): Promise<Server> {
  const { host, port } = parseBindAddress(bindAddress);
  const server = createServer((request, response) => {
    const reply = (status: number, error?: string) => {
      if (status === 429 || status === 503) response.setHeader('Retry-After', '1');
      if (error === undefined) response.writeHead(status).end();
      else response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error }));
    };
    if (request.url?.split('?')[0] !== PROGRESS_PATH) return reply(404, `not found; POST ${PROGRESS_PATH}`);
    if (request.method !== 'POST') return reply(405, `use POST ${PROGRESS_PATH}`);
    readBody(request).then(
      async (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reply(400, 'the body is not JSON');
        }
        const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
        const outcome = await service.report(token, body);
        if (outcome.status !== 204 && outcome.status !== 409) log.debug({ status: outcome.status, error: outcome.error }, 'Refused a progress report');
        reply(outcome.status, 'error' in outcome ? outcome.error : undefined);
      },
      (error: unknown) => reply(400, (error as Error).message),
    ).catch((error: unknown) => {
      log.error({ err: error }, 'Progress report failed');
      if (!response.headersSent) reply(503, 'internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is larger than ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
