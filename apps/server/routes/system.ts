import { z } from 'zod';
import { describeConfig } from '../../../src/config/index.ts';
import type { AppDeps, Router } from '../app.ts';

export async function systemRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/me',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags: ['system'],
        summary: 'Who the presented token is',
        response: {
          200: z.object({
            type: z.literal('token'),
            id: z.string(),
            name: z.string(),
            scopes: z.array(z.string()),
          }),
        },
      },
    },
    async (req) => ({
      type: 'token' as const,
      id: req.principal!.tokenId,
      name: req.principal!.name,
      scopes: req.principal!.scopes,
    }),
  );
  app.get(
    '/system/config',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['system'],
        summary: 'The running configuration, secrets masked',
        response: {
          200: z.object({
            items: z.array(
              z.object({
                env: z.string(),
                value: z.string().nullable(),
                source: z.enum(['environment', 'default', 'unset']),
                secret: z.boolean(),
                description: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ items: describeConfig(deps.config) }),
  );
}
