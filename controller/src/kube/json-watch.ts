// A watch read with undici's request() and split into lines by hand. client-node's Watch reads the
// stream through fetch, a web stream turned back into a Node stream, and readline, and re-arms a
// timer on every chunk; during a burst every Job and pod event of Sluice's informers passes through
// it, and it was the largest single share of the controller's CPU (docs/benchmarks.md). This keeps
// Watch.watch's contract (the informer's transport): `onEvent` per event, `done` once when the
// watch ends, a quiet stream ending with a TimeoutError, a non-200 answer as an ApiException.
import * as k8s from '@kubernetes/client-node';
import { request as undiciRequest } from 'undici';
import { authenticatedRequest } from './json-request.ts';

export type WatchQuery = Record<string, string | number | boolean | undefined>;
export type WatchEventHandler = (type: string, object: unknown) => void;

export type JsonWatch = (
  path: string,
  query: WatchQuery,
  onEvent: WatchEventHandler,
  done: (err: unknown) => void,
) => Promise<AbortController>;

export type JsonWatchOptions = {
  /** End the watch when no bytes arrive for this long (client-node's Watch: 30 s). */
  inactivityTimeoutMs?: number;
};

const NEWLINE = 0x0a;

export function jsonWatch(kubeConfig: k8s.KubeConfig, { inactivityTimeoutMs = 30_000 }: JsonWatchOptions = {}): JsonWatch {
  return async (path, query, onEvent, done) => {
    const controller = new AbortController();
    let ended = false;
    const end = (err: unknown) => {
      if (ended) return;
      ended = true;
      controller.abort();
      done(err);
    };
    try {
      const context = await authenticatedRequest(kubeConfig, 'GET', path, { watch: true, ...query });
      const answer = await undiciRequest(context.getUrl(), {
        method: 'GET',
        headers: context.getHeaders(),
        dispatcher: context.getDispatcher(),
        signal: controller.signal,
        // undici's own timers: one per request, not one re-armed per chunk.
        headersTimeout: inactivityTimeoutMs,
        bodyTimeout: inactivityTimeoutMs,
      });
      if (answer.statusCode !== 200) {
        const text = await answer.body.text();
        throw new k8s.ApiException(answer.statusCode, `HTTP ${answer.statusCode} for watch ${path}`, text, {});
      }
      const lines = new LineSplitter((line) => {
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          return; // As client-node's Watch: a line that is not JSON is skipped.
        }
        if (typeof event.type === 'string') onEvent(event.type, event.object);
      });
      answer.body.on('data', (chunk: Buffer) => {
        if (!ended) lines.push(chunk);
      });
      answer.body.on('end', () => end(null));
      answer.body.on('error', (err) => end(isBodyTimeout(err) ? timeoutError() : err));
    } catch (err) {
      end(isBodyTimeout(err) ? timeoutError() : err);
    }
    return controller;
  };
}

/** Splits a byte stream on '\n' (never inside a UTF-8 sequence) without re-reading earlier bytes. */
export class LineSplitter {
  #pending: Buffer[] = [];
  readonly #onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      let line: string;
      if (this.#pending.length > 0) {
        this.#pending.push(chunk.subarray(start, newline));
        line = Buffer.concat(this.#pending).toString('utf8');
        this.#pending = [];
      } else {
        line = chunk.toString('utf8', start, newline);
      }
      if (line.length > 0) this.#onLine(line);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    // Copied: a partial line outlives the chunk it came in.
    if (start < chunk.length) this.#pending.push(Buffer.from(chunk.subarray(start)));
  }
}

function isBodyTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
}

// The informer reads a quiet stream's end by this name, as client-node's Watch reports it.
function timeoutError(): Error {
  return new DOMException('The watch was quiet for too long', 'TimeoutError');
}
