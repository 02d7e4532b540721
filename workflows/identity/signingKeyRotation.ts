import { proxyActivities } from '@temporalio/workflow';
import type { SigningKeyActivities } from '../../activities/identity/signingKeys';
import { activityPresets } from '../activity-presets';
import type { SigningKeyRotationResult } from './definitions';

const keys = proxyActivities<SigningKeyActivities>(activityPresets.databaseWrite);

/**
 * Makes a new key sign access tokens; the old one keeps verifying until its last token has expired.
 * Run by a Schedule, by the admin route, or by `npm run identity -- rotate-keys`. The request time is
 * taken from workflow time, so a retried activity recognises the rotation it already made.
 */
export async function signingKeyRotation(): Promise<SigningKeyRotationResult> {
  return keys.rotateSigningKey({ requestedAt: new Date().toISOString() });
}
