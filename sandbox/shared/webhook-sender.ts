/**
 * Webhook delivery as a real partner (payment provider, carrier) does it, warts included: every event is
 * POSTed signed (`Comptoir-Signature`, payments/webhook-signature.ts) to the configured URL, retried with
 * exponential backoff until a 2xx answer (or the attempts run out), and — depending on the settings —
 * delayed, delivered twice, or delivered out of order. Both sandboxes send through this one class, so
 * Comptoir's webhook routes meet the same chaos from either partner.
 *
 * Deliveries about one subject (a payment, a parcel) go out one at a time, in queue order, so a test can
 * predict the order it asked for; deliveries about different subjects go out side by side. A retry waits
 * for its backoff while later events of the same subject go ahead: a failed delivery is itself a source
 * of disorder.
 */
import { signatureHeader, signWebhook } from '../../payments/webhook-signature';
import type { Logger } from './log';
import type { WebhookDeliverySettings } from './settings';

/** An event as a partner sends it: an id that redeliveries repeat, and data naming what it is about. */
export interface PartnerEvent<Subject extends string> {
  id: string;
  type: string;
  data: Record<Subject, string>;
}

export type DeliveryAttempt<Event extends PartnerEvent<Subject>, Subject extends string> = {
  eventId: string;
  type: Event['type'];
} & Record<Subject, string> & {
    /** 1 for the delivery every event gets, 2+ for duplicates (chaos or a test's redelivery). */
    copy: number;
    attempt: number;
    at: string;
    /** The receiver's HTTP status, or the network error's name; `no_endpoint` when no URL is set. */
    outcome: number | string;
    delivered: boolean;
  };

export interface WebhookSenderOptions<Subject extends string> {
  /** Read afresh for every event, so a test can change them while the process runs. */
  settings: () => WebhookDeliverySettings;
  /** Webhook signing secrets: the first signs, every one adds a `v1=` entry (rotation). */
  secrets: readonly string[];
  log: Logger;
  /** The `data` field naming what an event is about: deliveries about one subject go out in order. */
  subject: Subject;
  userAgent: string;
  random?: () => number;
}

interface Delivery<Event> {
  event: Event;
  copy: number;
  attempt: number;
  dueAt: number;
}

const retryCapMs = 60_000;
const receiverTimeoutMs = 10_000;
/** The inspection lists keep the latest entries only, so a long run or benchmark does not grow them without end. */
const keep = 20_000;

export class WebhookSender<Event extends PartnerEvent<Subject>, Subject extends string> {
  readonly events: Event[] = [];
  readonly attempts: DeliveryAttempt<Event, Subject>[] = [];
  private readonly queue: Delivery<Event>[] = [];
  private readonly busy = new Set<string>();
  private readonly held = new Map<string, { event: Event; timer: NodeJS.Timeout }>();
  private readonly copies = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WebhookSenderOptions<Subject>) {
    this.random = options.random ?? Math.random;
  }

  emit(event: Event): void {
    if (this.stopping.signal.aborted) return;
    // An event that leaves the inspection list can no longer be redelivered: its copy count goes with it.
    for (const forgotten of this.remember(this.events, event)) this.copies.delete(forgotten.id);
    if (!this.options.settings().reorder) return this.enqueue(event);
    // Out of order: hold this event until its subject's next one, then send the newer first.
    const partition = this.subjectOf(event);
    const waiting = this.held.get(partition);
    if (!waiting) {
      const timer = setTimeout(() => {
        this.held.delete(partition);
        this.enqueue(event);
      }, this.options.settings().reorderWindowMs);
      this.held.set(partition, { event, timer });
      return;
    }
    clearTimeout(waiting.timer);
    this.held.delete(partition);
    this.enqueue(event);
    this.enqueue(waiting.event);
  }

  /** Sends a recorded event again, as a partner does when it is unsure the first delivery arrived. */
  redeliver(eventId: string): Event | undefined {
    const event = this.events.find((e) => e.id === eventId);
    if (!event) return undefined;
    this.queue.push({ event, copy: this.nextCopy(event.id), attempt: 1, dueAt: Date.now() });
    this.pump();
    return event;
  }

  /** Stops retries and timers and abandons deliveries in flight; undelivered events are lost, as they would be in memory. */
  stop(): void {
    this.stopping.abort();
    clearTimeout(this.timer);
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
    this.queue.length = 0;
  }

  private subjectOf(event: Event): string {
    return event.data[this.options.subject];
  }

  private nextCopy(eventId: string): number {
    const copy = (this.copies.get(eventId) ?? 0) + 1;
    this.copies.set(eventId, copy);
    return copy;
  }

  private enqueue(event: Event) {
    const { delayMs, duplicateRate } = this.options.settings();
    const dueAt = Date.now() + delayMs;
    this.queue.push({ event, copy: this.nextCopy(event.id), attempt: 1, dueAt });
    if (duplicateRate > 0 && this.random() < duplicateRate) this.queue.push({ event, copy: this.nextCopy(event.id), attempt: 1, dueAt });
    this.pump();
  }

  private pump() {
    if (this.stopping.signal.aborted) return;
    clearTimeout(this.timer);
    const now = Date.now();
    let next = Infinity;
    for (let i = 0; i < this.queue.length; ) {
      const delivery = this.queue[i]!;
      const partition = this.subjectOf(delivery.event);
      if (this.busy.has(partition)) {
        i++;
      } else if (delivery.dueAt > now) {
        next = Math.min(next, delivery.dueAt);
        i++;
      } else {
        this.queue.splice(i, 1);
        this.busy.add(partition);
        // Once it is settled the subject is free again, and whatever waited for it (a retry included) is due.
        void this.send(delivery).finally(() => {
          this.busy.delete(partition);
          this.pump();
        });
      }
    }
    if (next < Infinity) this.timer = setTimeout(() => this.pump(), next - now);
  }

  private async send(delivery: Delivery<Event>) {
    const { event } = delivery;
    const { webhookUrl, webhookRetryBaseMs, webhookMaxAttempts } = this.options.settings();
    const subject = this.options.subject;
    const record = (outcome: number | string, delivered: boolean) =>
      this.remember(this.attempts, {
        eventId: event.id,
        type: event.type,
        [subject]: this.subjectOf(event),
        copy: delivery.copy,
        attempt: delivery.attempt,
        at: new Date().toISOString(),
        outcome,
        delivered,
      } as DeliveryAttempt<Event, Subject>);
    if (!webhookUrl) {
      record('no_endpoint', false);
      return;
    }
    // The same bytes on every attempt, signed afresh each time so the timestamp stays inside the receiver's window.
    const body = JSON.stringify(event);
    let outcome: number | string;
    try {
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          [signatureHeader]: signWebhook(this.options.secrets, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(receiverTimeoutMs), this.stopping.signal]),
      });
      await response.arrayBuffer().catch(() => undefined);
      outcome = response.status;
    } catch (error) {
      outcome = error instanceof Error ? error.name : 'error';
    }
    if (this.stopping.signal.aborted) return;
    const delivered = typeof outcome === 'number' && outcome >= 200 && outcome < 300;
    record(outcome, delivered);
    const { log } = this.options;
    if (delivered) {
      log.debug('webhook delivered', { eventId: event.id, type: event.type, attempt: delivery.attempt, status: outcome });
      return;
    }
    if (delivery.attempt >= webhookMaxAttempts) {
      log.error('webhook given up', { eventId: event.id, type: event.type, attempts: delivery.attempt, outcome });
      return;
    }
    const backoff = Math.min(webhookRetryBaseMs * 2 ** (delivery.attempt - 1), retryCapMs);
    log.info('webhook will be retried', { eventId: event.id, type: event.type, attempt: delivery.attempt, outcome, retryInMs: backoff });
    this.queue.push({ ...delivery, attempt: delivery.attempt + 1, dueAt: Date.now() + backoff });
  }

  /** Adds `item` and returns what fell off the front. */
  private remember<T>(list: T[], item: T): T[] {
    list.push(item);
    return list.length > keep ? list.splice(0, list.length - keep) : [];
  }
}
