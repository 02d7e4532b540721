import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { startPiiKeyRotation } from '../../identity/pii-rotation';
import { access, recordAudit } from '../auth';
import type { AppEnv } from '../deps';
import { AdminProblemResponses } from '../schemas';

const PiiRotationView = z
  .object({
    workflowId: z.string(),
    targetKeyId: z.string().openapi({ description: 'The key every value will be under (the last of PII_KEYS)' }),
  })
  .openapi('PiiKeyRotation');

const rotateRoute = createRoute({
  method: 'post',
  path: '/v1/admin/pii/rotate',
  tags: ['admin', 'identity'],
  summary: 'Re-encrypt all personal data under the current PII key (after appending a key to PII_KEYS and redeploying)',
  description:
    'Starts the `piiKeyRotation` workflow, or finds the one already running for the same key; its progress is readable with the `piiRotationProgress` query. Idempotent: values already under the current key are left alone.',
  ...access('pii:rotate'),
  responses: {
    202: { description: 'Rotation started (or already running)', content: { 'application/json': { schema: PiiRotationView } } },
    ...AdminProblemResponses,
  },
});

export function piiRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(rotateRoute, async (c) => {
    const { temporal, config } = c.get('deps');
    const { workflowId, targetKeyId } = await startPiiKeyRotation(temporal.client, config);
    await recordAudit(c, { action: 'identity.pii_key_rotation_requested', targetType: 'pii_key', targetId: targetKeyId, details: { workflowId } });
    return c.json({ workflowId, targetKeyId }, 202);
  });
}
