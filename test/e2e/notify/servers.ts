// Real receivers for the notify e2e tests: an SMTP server (smtp-server) and a webhook endpoint
// (node:http), both on 127.0.0.1 with a port of their own.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SlackMessage } from '../../../controller/src/notify/slack.ts';

export type ReceivedMail = {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  text: string;
  html: string;
};

type MimePart = { headers: Record<string, string>; body: string };

function parsePart(raw: string): MimePart {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBody(part: MimePart): string {
  const encoding = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const unwrapped = part.body.replace(/=\r\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < unwrapped.length; i++) {
      const hex = unwrapped.slice(i + 1, i + 3);
      if (unwrapped[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(unwrapped[i]!, 'utf8'));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
  return part.body;
}

/** The text/plain and text/html bodies of a message, wherever they sit in its multipart tree. */
function leaves(part: MimePart): MimePart[] {
  const type = part.headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || !boundary) return [part];
  return part.body
    .split(`--${boundary}`)
    .slice(1)
    .filter((chunk) => !chunk.startsWith('--'))
    .flatMap((chunk) => leaves(parsePart(chunk.replace(/^\r\n/, ''))));
}

export function parseMail(raw: string, from: string, to: string[]): ReceivedMail {
  const message = parsePart(raw);
  const parts = leaves(message);
  const body = (type: string) => {
    const part = parts.find((p) => (p.headers['content-type'] ?? 'text/plain').toLowerCase().startsWith(type));
    // SMTP carries CRLF line ends; compare with what was sent.
    return part ? decodeBody(part).replace(/\r\n/g, '\n') : '';
  };
  return { from, to, headers: message.headers, subject: message.headers.subject ?? '', text: body('text/plain'), html: body('text/html') };
}

export type SmtpReceiver = { port: number; mails: ReceivedMail[]; close(): Promise<void> };

/** A real SMTP server; `rejectRecipients` answers RCPT TO with 550 like a server that knows no such mailbox. */
export async function startSmtpServer(options: { rejectRecipients?: boolean } = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: the built-in certificate is not one nodemailer would trust.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!options.rejectRecipients) return callback();
      callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, session.envelope.rcptTo.map((r) => r.address)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export type WebhookPost = { body: SlackMessage; headers: IncomingHttpHeaders; path: string };
export type WebhookReceiver = { url: string; posts: WebhookPost[]; requests: number; close(): Promise<void> };

/** An incoming-webhook endpoint; `respond` picks the status of each request, or 'hang' to never answer. */
export async function startWebhookReceiver(respond: (request: number) => number | 'hang' = () => 200): Promise<WebhookReceiver> {
  const receiver = { url: '', posts: [] as WebhookPost[], requests: 0, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.requests++;
      const status = respond(receiver.requests);
      if (status === 'hang') return;
      if (status >= 200 && status < 300) {
        receiver.posts.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage, headers: req.headers, path: req.url ?? '' });
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'internal_error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}/services/T000/B000/secret-token`;
  receiver.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return receiver;
}
