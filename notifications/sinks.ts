/**
 * Where email to people goes:
 * - `smtp`: a mail server (SMTP_URL) through nodemailer, the production channel.
 * - `log`: one log line with the whole message, for a developer's terminal. It prints working links,
 *   so the configuration refuses it in production.
 * - `file`: one JSON file per message in NOTIFICATION_DIR, for tests and for a relay process.
 * A sink may be handed the same message twice (a sender that died between delivering and recording
 * it): the outbox id and the Message-ID travel with it, unchanged, so the receiving end can tell.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { NotificationTemplate } from '../db/notifications';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

export interface OutgoingMessage {
  /** The outbox id: stable across retries. */
  id: number;
  /** `<…@domain>`, derived from the outbox row: the same on every attempt (see `messageIdFor`). */
  messageId: string;
  channel: 'email';
  template: NotificationTemplate;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** When the fact it announces happened (the row was queued), ISO 8601 UTC. */
  queuedAt: string;
}

export interface NotificationSink {
  readonly name: string;
  deliver(message: OutgoingMessage): Promise<void>;
  close?(): Promise<void>;
}

/** The receiving end refused the message for good (an SMTP 5xx): retrying cannot help, an operator must look. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

/** A failure worth another attempt later (a 4xx, a connection that dropped, a timeout). */
export class TransientDeliveryError extends Error {
  override name = 'TransientDeliveryError';
}

export function logSink(logger: Logger): NotificationSink {
  return {
    name: 'log',
    async deliver(message) {
      // The working link in `text` is the point of this sink; the configuration keeps it out of production.
      logger.info({ notification: message }, `notification ${message.template} #${message.id} (log sink: development only)`);
    },
  };
}

/** `000000000042.json`: named by outbox id, zero-padded so a directory listing is in queue order. */
export const messageFileName = (id: number) => `${String(id).padStart(12, '0')}.json`;

/**
 * Writes each message to a temporary file and renames it into place: a reader never sees half a
 * message, and a redelivered message replaces its own file instead of adding a second one.
 */
export function fileSink(directory: string): NotificationSink {
  let ready: Promise<unknown> | undefined;
  return {
    name: 'file',
    async deliver(message) {
      // The directory may be removed under us (a cleaned temp dir): retry creating it once on failure.
      ready ??= mkdir(directory, { recursive: true, mode: 0o700 });
      try {
        await ready;
      } catch (error) {
        ready = undefined;
        throw error;
      }
      const target = join(directory, messageFileName(message.id));
      const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        // Owner-only: the file holds an address and perhaps a working link.
        await writeFile(temporary, JSON.stringify(message, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
        await rename(temporary, target);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => {});
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') ready = undefined;
        throw error;
      }
    },
  };
}

export function notificationDirectory(config: Pick<Config, 'NOTIFICATION_DIR' | 'DATA_DIR'>): string {
  return config.NOTIFICATION_DIR ?? join(config.DATA_DIR, 'outgoing');
}

/**
 * SMTP through nodemailer. SMTP has no idempotency key: a message the server accepted but whose
 * acceptance we never recorded (the worker died in between) is sent again. What makes that second copy
 * the same message is its Message-ID header, set from the outbox row and never regenerated, and its
 * Date, set to when the row was queued: mail providers and clients collapse copies with one Message-ID.
 *
 * Errors are reduced to the SMTP reply code and stage (or the socket error code) before they leave: a
 * server's reply to RCPT often quotes the address, which must not reach the logs or the outbox.
 */
export function smtpSink(config: Pick<Config, 'SMTP_URL' | 'SMTP_FROM' | 'NOTIFICATION_SEND_LEASE_MS'>): NotificationSink {
  if (!config.SMTP_URL) throw new Error('the smtp sink needs SMTP_URL');
  // Every stage of one exchange is bounded well inside the send lease, so a slow server makes this
  // attempt fail before another sender may take the message over.
  const stageTimeoutMs = Math.max(1_000, Math.floor(config.NOTIFICATION_SEND_LEASE_MS / 4));
  const transport = createTransport({
    url: config.SMTP_URL,
    connectionTimeout: stageTimeoutMs,
    greetingTimeout: stageTimeoutMs,
    socketTimeout: stageTimeoutMs,
  });
  return {
    name: 'smtp',
    async deliver(message) {
      try {
        await transport.sendMail({
          from: config.SMTP_FROM,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: message.messageId,
          date: new Date(message.queuedAt),
          headers: { 'X-Comptoir-Notification': `${message.template}/${message.id}` },
        });
      } catch (error) {
        throw smtpFailure(error);
      }
    },
    async close() {
      transport.close();
    },
  };
}

function smtpFailure(error: unknown): Error {
  const failure = error as { code?: unknown; responseCode?: unknown; command?: unknown };
  const code = typeof failure.responseCode === 'number' ? failure.responseCode : undefined;
  const command = typeof failure.command === 'string' ? failure.command.split(' ').slice(0, 2).join(' ').replace(/[^A-Z ]/gi, '').toUpperCase() : '';
  const stage = command ? ` at ${command}` : '';
  if (code !== undefined) {
    const summary = `SMTP ${code}${stage}`;
    // A 5xx about this message (its sender, recipient or content) will not change; a 5xx to AUTH or
    // the greeting is our configuration, fixed by an operator, after which the message should still go.
    return code >= 500 && /^(MAIL|RCPT|DATA)/.test(command) ? new PermanentDeliveryError(summary) : new TransientDeliveryError(summary);
  }
  const socketCode = typeof failure.code === 'string' && /^[A-Z_]+$/.test(failure.code) ? failure.code : 'unknown error';
  return new TransientDeliveryError(`SMTP ${socketCode}${stage}`);
}

export function createNotificationSink(
  config: Pick<Config, 'NOTIFICATION_SINK' | 'NOTIFICATION_DIR' | 'DATA_DIR' | 'SMTP_URL' | 'SMTP_FROM' | 'NOTIFICATION_SEND_LEASE_MS'>,
  logger: Logger,
): NotificationSink {
  if (config.NOTIFICATION_SINK === 'smtp') return smtpSink(config);
  return config.NOTIFICATION_SINK === 'file' ? fileSink(notificationDirectory(config)) : logSink(logger);
}
