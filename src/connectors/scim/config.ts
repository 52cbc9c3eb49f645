import { z } from 'zod';
import { parsePath } from './paths.ts';

export const SCIM_PROFILES = ['rfc', 'entra', 'okta'] as const;
export type ScimProfile = (typeof SCIM_PROFILES)[number];

const auth = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('bearer'),
      token: z.string().min(1, 'the bearer token is empty').describe('Bearer token (secret)'),
    })
    .strict(),
  z
    .object({
      type: z.literal('basic'),
      username: z
        .string()
        .min(1, 'the user name is empty')
        .refine((u) => !u.includes(':'), {
          error: 'HTTP Basic user names cannot contain ":"',
        }),
      password: z.string().min(1, 'the password is empty').describe('Password (secret)'),
    })
    .strict(),
]);

const scimPath = z.string().refine((p) => parsePath(p) !== undefined, {
  error:
    'not a SCIM attribute path (e.g. "name.givenName", \'emails[type eq "work"].value\', or an URN-qualified one)',
});

export const scimConfigSchema = z
  .object({
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'an http:// or https:// address' })
      .describe('The SCIM service root, the part before /Users (e.g. https://app.example.com/scim/v2)'),
    auth: auth.describe('How Gatehouse authenticates: a bearer token, or HTTP Basic'),
    profile: z
      .enum(SCIM_PROFILES)
      .default('rfc')
      .describe(
        'Which client the application was built for: rfc (strict RFC 7644), entra (requests shaped like Microsoft ' +
          "Entra ID's provisioning service), okta (like Okta's: PUT for profile updates, deactivate instead of delete)",
      ),
    pageSize: z.number().int().min(1).max(1000).default(100).describe('Resources asked for per list request'),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .describe('How long one HTTP request may take, in milliseconds'),
    attributeMapping: z
      .record(z.string().min(1).max(128), scimPath)
      .optional()
      .describe(
        'Gatehouse attribute name → SCIM attribute path, e.g. { "mail": "emails[type eq \\"work\\"].value" }. ' +
          'Attributes not listed are named by their SCIM path.',
      ),
    lastLoginAttribute: scimPath
      .optional()
      .describe(
        'SCIM core has no last sign-in: name the (extension) attribute where the application reports it (a date-time), ' +
          'so reconciliation can find inactive accounts; when unset, accounts have no last sign-in',
      ),
    mustChangePasswordAttribute: scimPath
      .optional()
      .describe(
        'SCIM core has no "must change password at next sign-in": name the (extension) attribute the application ' +
          'uses for it, set to true when asked; when unset, asking for it is refused as unsupported',
      ),
    sync: z
      .object({
        mode: z
          .enum(['auto', 'lastModified', 'snapshot'])
          .default('auto')
          .describe(
            'lastModified: filter on meta.lastModified (changes only, no deletions); snapshot: compare full scans ' +
              '(changes and deletions, at the cost of reading everything); auto: lastModified when the server can',
          ),
        overlapMs: z
          .number()
          .int()
          .min(0)
          .max(3_600_000)
          .default(2_000)
          .describe('How far back each lastModified query reaches, for clock granularity and late commits'),
      })
      .strict()
      .default({ mode: 'auto', overlapMs: 2_000 }),
  })
  .strict();

export type ScimConfig = z.output<typeof scimConfigSchema>;
