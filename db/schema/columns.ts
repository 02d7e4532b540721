import { timestamp } from 'drizzle-orm/pg-core';

/** Every table records when a row appeared and last changed, in UTC. */
export const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};
