/**
 * Every encrypted column, with the context its values are bound to (`encryptPii(…, context)`). Code
 * that writes one of these columns takes the context from here; the PII key-rotation workflow walks
 * this list, and the erasure test scans it — a new encrypted column is added here or it is neither
 * rotated nor checked.
 */
export interface PiiField {
  /** `schema.table`. */
  table: string;
  column: string;
  /** The primary-key column whose value is bound into the context. */
  idColumn: string;
  context(id: string): string;
}

const field = (table: string, column: string, idColumn = 'id'): PiiField => ({
  table,
  column,
  idColumn,
  context: (id) => `${table}.${column}:${id}`,
});

export const piiFields = {
  accountEmail: field('identity.accounts', 'email_enc'),
  accountGivenName: field('identity.accounts', 'given_name_enc'),
  accountFamilyName: field('identity.accounts', 'family_name_enc'),
  accountPhone: field('identity.accounts', 'phone_enc'),
  addressDetails: field('identity.addresses', 'details_enc'),
  totpSecret: field('identity.totp_factors', 'secret_enc', 'account_id'),
  signingKeyPrivate: field('identity.signing_keys', 'private_jwk_enc', 'kid'),
  orderShippingAddress: field('orders.orders', 'shipping_address_enc'),
  /** The buyer as invoiced: kept for the legal retention period even after an erasure (invoicing/gdpr.ts). */
  invoiceBuyer: field('invoicing.invoices', 'buyer_enc'),
  notificationRecipient: field('notifications.outbox', 'recipient_enc'),
  notificationPayload: field('notifications.outbox', 'payload_enc'),
} as const satisfies Record<string, PiiField>;
