/** Path parameters shared by the `/deployments/{name}/…` route groups (rollouts, batch shadow, monitoring). */
import { z } from '@hono/zod-openapi';

export const DeploymentParams = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'my-deployment' }),
});
