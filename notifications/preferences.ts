/**
 * What a customer wants to hear about, and where. Preferences are per category of order message and
 * per channel; anything never chosen is on. Account and security mail (verification, password reset,
 * "you already have an account") is not a category: it is always sent, or the account cannot be used.
 */
import { preferenceRowsOf, upsertPreferences } from '../db/notifications';
import type { Executor } from '../platform/postgres';
import { notificationCategories, type NotificationCategory } from './order-events';

export const preferenceChannels = ['email', 'in_app'] as const;
export type PreferenceChannel = (typeof preferenceChannels)[number];

export type ChannelChoices = Record<PreferenceChannel, boolean>;
export type NotificationPreferences = Record<NotificationCategory, ChannelChoices>;

const allOn = (): NotificationPreferences =>
  Object.fromEntries(notificationCategories.map((category) => [category, { email: true, in_app: true }])) as NotificationPreferences;

export async function preferencesOf(db: Executor, accountId: string): Promise<NotificationPreferences> {
  const preferences = allOn();
  for (const row of await preferenceRowsOf(db, accountId)) {
    const category = preferences[row.category as NotificationCategory];
    if (category && (preferenceChannels as readonly string[]).includes(row.channel)) category[row.channel as PreferenceChannel] = row.enabled;
  }
  return preferences;
}

/** The channels on for one category. */
export async function channelChoices(db: Executor, accountId: string, category: NotificationCategory): Promise<ChannelChoices> {
  return (await preferencesOf(db, accountId))[category];
}

/** Applies a partial change (`{order_updates: {email: false}}`) and returns the whole set. */
export async function updatePreferences(
  db: Executor,
  accountId: string,
  changes: Partial<Record<NotificationCategory, Partial<ChannelChoices>>>,
): Promise<NotificationPreferences> {
  const choices = Object.entries(changes).flatMap(([category, channels]) =>
    Object.entries(channels ?? {})
      .filter((entry): entry is [PreferenceChannel, boolean] => typeof entry[1] === 'boolean')
      .map(([channel, enabled]) => ({ category, channel, enabled })),
  );
  await upsertPreferences(db, accountId, choices);
  return preferencesOf(db, accountId);
}
