/**
 * A partner's webhook endpoint in miniature, where a sandbox (payment provider, carrier) delivers during a
 * test: records every delivery as received (raw body and signature header) and answers what the test decides.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PartnerEvent } from '../../sandbox/shared/webhook-sender';

export interface ReceivedWebhook<Event> {
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: Event;
  status: number;
}

/** `subject` is the `data` field `of()` filters on (`providerPaymentId`, `carrierShipmentId`); `path` ends the URL. */
export async function startWebhookReceiver<Event extends PartnerEvent<Subject>, Subject extends string>(subject: Subject, path: string) {
  const received: ReceivedWebhook<Event>[] = [];
  /** Decides the HTTP status of each delivery; 204 unless a test says otherwise. */
  let respond: (event: Event, previousDeliveries: ReceivedWebhook<Event>[]) => number = () => 204;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(rawBody) as Event;
      const status = respond(event, received.filter((r) => r.event.id === event.id));
      received.push({ headers: request.headers, rawBody, event, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    of: (id: string) => received.filter((r) => r.event.data[subject] === id),
    answerWith(decide: typeof respond) {
      respond = decide;
    },
    reset() {
      respond = () => 204;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
