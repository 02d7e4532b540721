/**
 * Tracking webhooks as a real carrier sends them, warts included: every event is POSTed signed
 * (`Comptoir-Signature`, payments/webhook-signature.ts) to the configured URL, retried with exponential
 * backoff until a 2xx answer (or the attempts run out), and — depending on the settings — delayed,
 * delivered twice, or delivered out of order.
 *
 * Deliveries of one parcel go out one at a time, in queue order, so a test can predict the order it asked
 * for; deliveries of different parcels go out side by side. A retry waits for its backoff while later
 * events of the same parcel go ahead: a failed delivery is itself a source of disorder.
 */
import type { CarrierTrackingEvent } from '../../fulfilment/carrier';
import { signatureHeader, signWebhook } from '../../payments/webhook-signature';
import type { Logger } from './log';
import type { CarrierSettings } from './settings';

export interface DeliveryAttempt {
  eventId: string;
  type: CarrierTrackingEvent['type'];
  carrierShipmentId: string;
  /** 1 for the delivery every event gets, 2+ for duplicates (chaos or a test's redelivery). */
  copy: number;
  attempt: number;
  at: string;
  /** The receiver's HTTP status, or the network error's name; `no_endpoint` when no URL is set. */
  outcome: number | string;
  delivered: boolean;
}

interface Delivery {
  event: CarrierTrackingEvent;
  copy: number;
  attempt: number;
  dueAt: number;
}

const retryCapMs = 60_000;
const receiverTimeoutMs = 10_000;
/** The inspection lists keep the latest entries only, so a long run does not grow them without end. */
const keep = 20_000;

export class TrackingDispatcher {
  readonly events: CarrierTrackingEvent[] = [];
  readonly attempts: DeliveryAttempt[] = [];
  private readonly queue: Delivery[] = [];
  private readonly busy = new Set<string>();
  private readonly held = new Map<string, { event: CarrierTrackingEvent; timer: NodeJS.Timeout }>();
  private readonly copies = new Map<string, number>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: () => CarrierSettings,
    private readonly secrets: readonly string[],
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  emit(event: CarrierTrackingEvent): void {
    if (this.stopping.signal.aborted) return;
    this.remember(this.events, event);
    if (!this.settings().reorder) return this.enqueue(event);
    // Out of order: hold this event until the parcel's next one, then send the newer first.
    const partition = event.data.carrierShipmentId;
    const waiting = this.held.get(partition);
    if (!waiting) {
      const timer = setTimeout(() => {
        this.held.delete(partition);
        this.enqueue(event);
      }, this.settings().reorderWindowMs);
      this.held.set(partition, { event, timer });
      return;
    }
    clearTimeout(waiting.timer);
    this.held.delete(partition);
    this.enqueue(event);
    this.enqueue(waiting.event);
  }

  /** Sends a recorded event again, as a carrier does when it is unsure the first delivery arrived. */
  redeliver(eventId: string): CarrierTrackingEvent | undefined {
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

  private nextCopy(eventId: string): number {
    const copy = (this.copies.get(eventId) ?? 0) + 1;
    this.copies.set(eventId, copy);
    return copy;
  }

  private enqueue(event: CarrierTrackingEvent) {
    const { delayMs, duplicateRate } = this.settings();
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
      const partition = delivery.event.data.carrierShipmentId;
      if (this.busy.has(partition)) {
        i++;
      } else if (delivery.dueAt > now) {
        next = Math.min(next, delivery.dueAt);
        i++;
      } else {
        this.queue.splice(i, 1);
        this.busy.add(partition);
        void this.send(delivery).finally(() => {
          this.busy.delete(partition);
          this.pump();
        });
      }
    }
    if (next < Infinity) this.timer = setTimeout(() => this.pump(), next - now);
  }

  private async send(delivery: Delivery) {
    const { event } = delivery;
    const { webhookUrl, webhookRetryBaseMs, webhookMaxAttempts } = this.settings();
    const record = (outcome: number | string, delivered: boolean) =>
      this.remember(this.attempts, {
        eventId: event.id,
        type: event.type,
        carrierShipmentId: event.data.carrierShipmentId,
        copy: delivery.copy,
        attempt: delivery.attempt,
        at: new Date().toISOString(),
        outcome,
        delivered,
      });
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
          'user-agent': 'comptoir-sandbox-carrier/1',
          [signatureHeader]: signWebhook(this.secrets, body, Math.floor(Date.now() / 1000)),
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
    if (delivered) {
      this.log.debug('webhook delivered', { eventId: event.id, type: event.type, attempt: delivery.attempt, status: outcome });
      return;
    }
    if (delivery.attempt >= webhookMaxAttempts) {
      this.log.error('webhook given up', { eventId: event.id, type: event.type, attempts: delivery.attempt, outcome });
      return;
    }
    const backoff = Math.min(webhookRetryBaseMs * 2 ** (delivery.attempt - 1), retryCapMs);
    this.log.info('webhook will be retried', { eventId: event.id, type: event.type, attempt: delivery.attempt, outcome, retryInMs: backoff });
    this.queue.push({ ...delivery, attempt: delivery.attempt + 1, dueAt: Date.now() + backoff });
    this.pump();
  }

  private remember<T>(list: T[], item: T) {
    list.push(item);
    if (list.length > keep) list.splice(0, list.length - keep);
  }
}
