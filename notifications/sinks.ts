/**
 * Where messages to people go. No mail server is reachable from here, so there are two stand-ins
 * behind the interface a real channel (SMTP, a mail API) would implement:
 * - `log`: one log line with the whole message, for a developer's terminal. It prints working links,
 *   so the configuration refuses it in production.
 * - `file`: one JSON file per message in NOTIFICATION_DIR, for tests and for a relay process.
 * A sink may be handed the same message twice (a crash between delivering and recording it): the
 * message id travels with it so the receiving end can tell.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotificationTemplate } from '../db/notifications';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

export interface OutgoingMessage {
  /** The outbox id: stable across retries. */
  id: number;
  channel: 'email';
  template: NotificationTemplate;
  to: string;
  subject: string;
  text: string;
  /** When the fact it announces happened (the row was queued), ISO 8601 UTC. */
  queuedAt: string;
}

export interface NotificationSink {
  readonly name: string;
  deliver(message: OutgoingMessage): Promise<void>;
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

export function createNotificationSink(config: Pick<Config, 'NOTIFICATION_SINK' | 'NOTIFICATION_DIR' | 'DATA_DIR'>, logger: Logger): NotificationSink {
  return config.NOTIFICATION_SINK === 'file' ? fileSink(notificationDirectory(config)) : logSink(logger);
}
