import { z } from 'zod';
import { transaction } from '../../../src/db/index.ts';
import { baseNames, getNamingPolicy, setNamingPolicy } from '../../../src/naming/index.ts';
import { contextOf } from '../auth.ts';
import type { AppDeps, Router } from '../app.ts';

export const namingPolicyView = z.object({
  username: z.object({ template: z.string(), maxLength: z.number().int() }),
  email: z.object({ template: z.string(), domain: z.string(), maxLength: z.number().int() }),
  displayName: z.object({ template: z.string() }),
  reserved: z.array(z.string()),
  embargoDays: z.number().int(),
});

// The shape only: the rules (template tokens, lengths, domain, reserved names) are checked by setNamingPolicy,
// which names every problem (code naming_policy_invalid).
const policyBody = z.object({
  username: z.object({ template: z.string().max(1000), maxLength: z.number() }),
  email: z.object({ template: z.string().max(1000), domain: z.string().max(300), maxLength: z.number() }),
  displayName: z.object({ template: z.string().max(1000) }),
  reserved: z.array(z.string().max(300)).max(10_000),
  embargoDays: z.number(),
});

const namesView = z.object({ username: z.string(), workEmail: z.string(), displayName: z.string() });

export async function namingRoutes(app: Router, deps: AppDeps): Promise<void> {
  app.get(
    '/naming/policy',
    {
      config: { scope: 'settings:read' },
      schema: {
        tags: ['naming'],
        summary: 'The naming policy in force (templates, limits, reserved names, leaver embargo)',
        response: { 200: namingPolicyView },
      },
    },
    async () => getNamingPolicy(deps.database),
  );
  app.put(
    '/naming/policy',
    {
      config: { scope: 'settings:write' },
      schema: {
        tags: ['naming'],
        summary: 'Replace the naming policy (audited). Applies to names generated from now on.',
        body: policyBody,
        response: { 200: namingPolicyView },
      },
    },
    async (req) => {
      const ctx = contextOf(req, deps);
      return transaction(deps.database, (tx) => setNamingPolicy(tx, ctx, req.body));
    },
  );
  app.post(
    '/naming/preview',
    {
      config: { scope: 'settings:read' },
      schema: {
        tags: ['naming'],
        summary:
          'The names the current policy gives a person, before any collision suffix (nothing is reserved)',
        body: z.object({
          first: z.string().max(200),
          last: z.string().max(200),
          preferredName: z.string().max(200).optional(),
          employeeId: z.string().max(100).optional(),
        }),
        response: { 200: namesView },
      },
    },
    async (req) => {
      const policy = await getNamingPolicy(deps.database);
      const { first, last, preferredName, employeeId } = req.body;
      const preferred = preferredName?.trim() ? preferredName : undefined;
      const b = baseNames(
        { first: preferred ?? first, last, legalFirst: first, employeeId: employeeId ?? '' },
        policy,
      );
      return {
        username: b.username,
        workEmail: `${b.emailLocal}@${policy.email.domain}`,
        displayName: b.displayName,
      };
    },
  );
}
