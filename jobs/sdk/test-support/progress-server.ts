// A local HTTP server standing in for the controller's progress API in job tests: it records every
// request and answers as the test says (204 by default).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RecordedRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** ms since the server started */
  at: number;
};

/** Answers one request; the default records it with 204. May leave the response hanging (a timeout test). */
export type Responder = (request: RecordedRequest, response: ServerResponse, index: number) => void;

export type ProgressServer = {
  url: string;
  requests: RecordedRequest[];
  /** The JSON bodies, in order. */
  bodies: () => { percent: number; step?: string }[];
  respond: (responder: Responder) => void;
  close: () => Promise<void>;
};

export const noContent: Responder = (_request, response) => {
  response.writeHead(204).end();
};

export async function startProgressServer(responder: Responder = noContent): Promise<ProgressServer> {
  const started = Date.now();
  const requests: RecordedRequest[] = [];
  let respond = responder;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now() - started,
      };
      requests.push(request);
      respond(request, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/progress`,
    requests,
    bodies: () => requests.map((r) => JSON.parse(r.body) as { percent: number; step?: string }),
    respond: (next) => {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
