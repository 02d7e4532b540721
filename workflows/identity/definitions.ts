/** Names shared by the identity workflows, their clients and their schedules; importable from both sides. */
export const signingKeyRotationWorkflowType = 'signingKeyRotation';
export const signingKeyRotationScheduleId = (prefix: string) => `${prefix}signing-key-rotation`;

export interface SigningKeyRotationResult {
  kid: string;
  rotated: boolean;
  pruned: number;
}
