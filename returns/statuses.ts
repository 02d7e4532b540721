/**
 * Where a return stands. Pure data shared by the table's check constraint, the API and the workflow.
 *
 * `requested` (created by the API) → `authorised` (label booked) → `received` → `inspected` →
 * `refunded`; or, from there, `rejected` (nothing accepted: nothing to refund), `refund_failed` (the
 * payment refused the refund: ops decide), `expired` (no parcel within the wait), `cancelled` (the
 * carrier refused the label).
 */
export const returnStatuses = ['requested', 'authorised', 'received', 'inspected', 'refunded', 'rejected', 'refund_failed', 'expired', 'cancelled'] as const;
export type ReturnStatus = (typeof returnStatuses)[number];

/** Statuses after which nothing more happens to a return. */
export const finalReturnStatuses: readonly ReturnStatus[] = ['refunded', 'rejected', 'refund_failed', 'expired', 'cancelled'];

/** Returns in these statuses brought nothing back (or never will): their units may be returned again. */
export const voidReturnStatuses: readonly ReturnStatus[] = ['expired', 'cancelled'];
