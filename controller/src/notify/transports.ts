// Where notifications go: e-mail through SES or SMTP, Slack-compatible webhooks through fetch.
// Each call is one attempt; the Notifier owns retries, so the clients here do not retry themselves.
// The SES client and nodemailer load on the first e-mail of their kind: most installations send
// none, and the two are ≈ 400 KB of the bundle the controller would otherwise keep in memory.
import type { SESClient } from '@aws-sdk/client-ses';
import type { Transporter } from 'nodemailer';
import type { Notifications } from '../api/schemas.ts';
import type { RenderedEmail } from './html.ts';
import type { SlackMessage } from './slack.ts';

export type EmailSettings = NonNullable<Notifications['email']>;

export type Transports = {
  /** Sends one e-mail; `signal` bounds the attempt. */
  sendEmail(settings: EmailSettings, email: RenderedEmail, signal: AbortSignal): Promise<void>;
  /** Posts one message to an incoming webhook; `signal` bounds the attempt. */
  postWebhook(url: string, message: SlackMessage, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
};

/** A failure that trying again cannot fix (a rejected address, a webhook that does not exist). */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

/** Thrown for a webhook answer other than 2xx; the URL is never included (it is a credential). */
export class WebhookStatusError extends Error {
  override readonly name = 'WebhookStatusError';
  readonly status: number;

  constructor(status: number, body: string) {
    super(`webhook answered ${status}${body ? `: ${body}` : ''}`);
    this.status = status;
  }
}

const isPermanentStatus = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

export type NetworkTransportsOptions = {
  /** Per attempt; bounds SMTP connection, greeting and socket inactivity too. */
  timeoutMs: number;
};

export class NetworkTransports implements Transports {
  readonly #timeoutMs: number;
  readonly #ses = new Map<string, SESClient>();
  readonly #smtp = new Map<string, Transporter>();

  constructor(options: NetworkTransportsOptions) {
    this.#timeoutMs = options.timeoutMs;
  }

  async sendEmail(settings: EmailSettings, email: RenderedEmail, signal: AbortSignal): Promise<void> {
    if (settings.via === 'smtp') return this.#sendSmtp(settings, email, signal);
    return this.#sendSes(settings, email, signal);
  }

  async #sendSes(settings: EmailSettings, email: RenderedEmail, signal: AbortSignal): Promise<void> {
    const key = JSON.stringify([settings.region ?? null, settings.endpoint ?? null]);
    const { SESClient, SendEmailCommand } = await import('./ses-sdk.ts');
    let client = this.#ses.get(key);
    if (!client) {
      client = new SESClient({
        maxAttempts: 1,
        ...(settings.region ? { region: settings.region } : {}),
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      });
      this.#ses.set(key, client);
    }
    try {
      await client.send(new SendEmailCommand({
        Source: settings.from,
        Destination: { ToAddresses: settings.to },
        Message: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Html: { Data: email.html, Charset: 'UTF-8' }, Text: { Data: email.text, Charset: 'UTF-8' } },
        },
      }), { abortSignal: signal });
    } catch (error) {
      // The SDK marks throttling as retryable; other client faults (unverified sender, bad address) stay wrong.
      const sdkError = error as { $fault?: string; $retryable?: unknown };
      if (sdkError.$fault === 'client' && !sdkError.$retryable && !signal.aborted) {
        throw new PermanentDeliveryError(`SES rejected the e-mail: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }

  async #sendSmtp(settings: EmailSettings, email: RenderedEmail, signal: AbortSignal): Promise<void> {
    if (!settings.smtp) throw new PermanentDeliveryError('email.via is smtp but email.smtp is not set');
    const { host, port, secure } = settings.smtp;
    const key = JSON.stringify([host, port, secure]);
    let transport = this.#smtp.get(key);
    if (!transport) {
      const { createTransport } = await import('./smtp-sdk.ts');
      transport = createTransport({
        host,
        port,
        secure,
        connectionTimeout: this.#timeoutMs,
        greetingTimeout: this.#timeoutMs,
        socketTimeout: this.#timeoutMs,
      });
      this.#smtp.set(key, transport);
    }
    signal.throwIfAborted();
    try {
      await transport.sendMail({
        from: settings.from,
        to: settings.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        // RFC 3834: no out-of-office or bounce auto-replies back at the sender.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (error) {
      const responseCode = (error as { responseCode?: number }).responseCode;
      if (responseCode !== undefined && responseCode >= 500) {
        throw new PermanentDeliveryError(`the SMTP server refused the e-mail: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }

  async postWebhook(url: string, message: SlackMessage, signal: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal,
      });
    } catch (error) {
      if (error instanceof TypeError && /invalid url|failed to parse url/i.test(error.message)) {
        throw new PermanentDeliveryError('the webhook URL is not a valid URL');
      }
      throw error;
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const body = (await response.text().catch(() => '')).slice(0, 200);
    const error = new WebhookStatusError(response.status, body);
    if (isPermanentStatus(response.status)) throw new PermanentDeliveryError(error.message, { cause: error });
    throw error;
  }

  close(): Promise<void> {
    for (const transport of this.#smtp.values()) transport.close();
    for (const client of this.#ses.values()) client.destroy();
    this.#smtp.clear();
    this.#ses.clear();
    return Promise.resolve();
  }
}
