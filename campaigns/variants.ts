/**
 * A/B assignment. A recipient's variant is a pure function of the campaign and the account: the same on
 * every retry, every run and every worker, without storing a random draw first.
 */
import { createHash } from 'node:crypto';
import type { CampaignVariant } from '../db/schema/campaigns';

/** 0–9999, evenly spread: the first 32 bits of SHA-256 over the pair, reduced. */
export function bucketOf(campaignId: string, accountId: string): number {
  return createHash('sha256').update(`${campaignId}:${accountId}`).digest().readUInt32BE(0) % 10_000;
}

/** `B` for `percentB` % of recipients, `A` for the rest; always `A` without an A/B test. */
export function assignVariant(campaignId: string, accountId: string, percentB: number | null | undefined): CampaignVariant {
  if (!percentB) return 'A';
  return bucketOf(campaignId, accountId) < percentB * 100 ? 'B' : 'A';
}
