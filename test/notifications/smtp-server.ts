/**
 * A real SMTP server in the test process (the `smtp-server` package), recording what arrives. Each
 * completed DATA is one SMTP transaction; `mailbox` is what a person would see after their provider
 * collapsed copies with one Message-ID, as providers and mail clients do.
 *
 * Behaviours a test can switch: refuse the next N messages with a reply code (4xx transient, 5xx
 * permanent), or hold the reply to the next message until the test releases it (to kill a sender
 * while the server has the message and the sender has no answer yet).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMessage {
  /** The envelope recipients (RCPT TO). */
  to: string[];
  messageId: string | undefined;
  subject: string;
  text: string;
  html: string;
  language: string | undefined;
  date: Date | undefined;
  headers: Map<string, unknown>;
  receivedAt: number;
}

export interface TestSmtpServer {
  url: string;
  /** Every transaction that got to the end of DATA (accepted, held or refused), in order. */
  readonly transactions: ReceivedMessage[];
  /** Transactions the server accepted. */
  accepted(): ReceivedMessage[];
  /** What `recipient` would see: accepted messages, one per Message-ID. */
  mailbox(recipient: string): ReceivedMessage[];
  /**
   * The next `count` messages to `recipient` are answered with `code` after DATA (counted as refused,
   * not accepted). Messages to others (rows another test file left in the shared outbox) pass.
   */
  refuseNext(count: number, code: number, recipient: string): void;
  /** The reply to the next message to `recipient` is held: `arrived` resolves once the server has it whole; `release()` answers 250. */
  holdNext(recipient: string): { arrived: Promise<ReceivedMessage>; release: () => void };
  stop(): Promise<void>;
}

export async function startTestSmtpServer(): Promise<TestSmtpServer> {
  const transactions: ReceivedMessage[] = [];
  const acceptedSet = new Set<ReceivedMessage>();
  let refusals: { remaining: number; code: number; recipient: string } | undefined;
  let hold: { recipient: string; arrived: (message: ReceivedMessage) => void; released: Promise<void> } | undefined;

  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: STARTTLS with a self-signed certificate would only test TLS set-up.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const message: ReceivedMessage = {
            to: session.envelope.rcptTo.map((address) => address.address.toLowerCase()),
            messageId: parsed.messageId,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            language: /<html lang="([a-z]+)"/.exec(typeof parsed.html === 'string' ? parsed.html : '')?.[1],
            date: parsed.date,
            headers: parsed.headers as Map<string, unknown>,
            receivedAt: Date.now(),
          };
          transactions.push(message);
          if (refusals && refusals.remaining > 0 && message.to.includes(refusals.recipient)) {
            refusals.remaining--;
            const error = Object.assign(new Error('Try again later'), { responseCode: refusals.code });
            callback(error);
            return;
          }
          acceptedSet.add(message);
          if (hold && message.to.includes(hold.recipient)) {
            const current = hold;
            hold = undefined;
            current.arrived(message);
            await current.released;
          }
          callback(null, 'Queued');
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    transactions,
    accepted: () => transactions.filter((message) => acceptedSet.has(message)),
    mailbox(recipient) {
      const seen = new Set<string | undefined>();
      return transactions.filter((message) => {
        if (!acceptedSet.has(message) || !message.to.includes(recipient.toLowerCase())) return false;
        if (seen.has(message.messageId)) return false;
        seen.add(message.messageId);
        return true;
      });
    },
    refuseNext(count, code, recipient) {
      refusals = { remaining: count, code, recipient: recipient.toLowerCase() };
    },
    holdNext(recipient) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let arrivedResolve!: (message: ReceivedMessage) => void;
      const arrived = new Promise<ReceivedMessage>((resolve) => (arrivedResolve = resolve));
      hold = { recipient: recipient.toLowerCase(), arrived: arrivedResolve, released };
      return { arrived, release };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
