/**
 * Custom search attributes ops filter on in the Web UI and CLI (`OrderStatus = "PAYMENT_PENDING"`).
 * Names are part of the public surface: never rename, only add.
 */
export const searchAttributes = {
  CustomerId: 'KEYWORD',
  OrderId: 'KEYWORD',
  OrderStatus: 'KEYWORD',
  OrderTotal: 'INT',
  CampaignId: 'KEYWORD',
  ImportId: 'KEYWORD',
  /** The fulfilment workflow's own status: `ESCALATED` while a parcel waits for an ops decision. */
  FulfilmentStatus: 'KEYWORD',
} as const;

export type SearchAttributeName = keyof typeof searchAttributes;
