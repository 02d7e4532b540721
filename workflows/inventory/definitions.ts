/** Names and shapes shared by the inventory activities, the workflows calling them and the Schedule; importable from both sides. */
export const inventoryReservationSweepWorkflowType = 'inventoryReservationSweep';
export const inventoryReservationSweepScheduleId = (prefix: string) => `${prefix}inventory-reservation-sweep`;

export interface ReservationLineInput {
  sku: string;
  /** A positive integer; a SKU named on several lines is reserved once, for the sum. */
  quantity: number;
}

export interface ReserveInventoryInput {
  /** The order the units are held for (a uuid): one reservation per order, whatever the retries. */
  orderId: string;
  lines: ReservationLineInput[];
  /** How long the units stay held unless the checkout extends, commits or releases them. */
  ttlSeconds: number;
}

export interface HeldUnitsView {
  sku: string;
  location: string;
  quantity: number;
}

export interface InventoryReservation {
  orderId: string;
  state: 'held' | 'released' | 'committed';
  /** False when the order's reservation was already made (a retry, a duplicate checkout). */
  created: boolean;
  /** ISO 8601. */
  expiresAt: string;
  lines: HeldUnitsView[];
}

export interface InventorySettlement {
  orderId: string;
  /** The order's reservation after the call; `none` when it never reserved anything. */
  state: InventoryReservation['state'] | 'none';
  /** Units this call released or committed: empty when an earlier call already did. */
  settled: HeldUnitsView[];
  units: number;
}

/** `details[0]` of the non-retryable ApplicationFailure of type `InsufficientStock` thrown by reserveInventory. */
export interface InsufficientStockDetails {
  shortages: { sku: string; requested: number; available: number }[];
}

export interface ReservationSweepResult {
  /** Orders whose expired holds were released. */
  orders: number;
  units: number;
  /** More expired holds may remain beyond the batch. */
  more: boolean;
}
