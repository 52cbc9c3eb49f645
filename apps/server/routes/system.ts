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
        summary: 'Who is calling (an API token or a signed-in operator)',
        response: {
          200: z.object({
            type: z.enum(['token', 'operator']),
            id: z.string(),
            name: z.string(),
            scopes: z.array(z.string()),
            role: z.string().optional(),
          }),
        },
      },
    },
    async (req) => {
      const p = req.principal!;
      return { type: p.kind, id: p.id, name: p.name, scopes: p.scopes, ...(p.role ? { role: p.role } : {}) };
    },
  );
  app.get(
    '/system/config',
    {
      config: { scope: 'settings:read' },
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
