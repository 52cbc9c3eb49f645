import { z } from 'zod';
import { isValidDn } from './escape.ts';

const dn = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .refine(isValidDn, {
      error: 'not a valid distinguished name (RFC 4514), e.g. ou=people,dc=example,dc=com',
    })
    .describe(what);

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/;

export const ldapConfigSchema = z
  .object({
    url: z
      .string()
      .trim()
      .regex(/^ldaps?:\/\/[^/\s]+\/?$/i, {
        error: 'an ldap:// or ldaps:// URL with a host and optional port',
      })
      .describe('The directory server, e.g. ldaps://ldap.example.com:636'),
    bindDn: dn('The account Gatehouse binds as (needs write access to the users and groups containers)'),
    bindPassword: z.string().min(1).describe('Password of the bind account (stored encrypted, never shown)'),
    baseDn: dn('The naming context, e.g. dc=example,dc=com'),
    usersDn: dn('Where accounts are created and searched, e.g. ou=people,dc=example,dc=com'),
    groupsDn: dn('Where groups are created and searched, e.g. ou=groups,dc=example,dc=com'),
    tls: z
      .object({
        mode: z
          .enum(['none', 'starttls', 'ldaps'])
          .optional()
          .describe(
            'none (plain ldap://), starttls (ldap:// upgraded) or ldaps; default follows the URL scheme',
          ),
        ca: z
          .string()
          .optional()
          .describe('PEM of the CA that signed the server certificate (default: system CAs)'),
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe('Verify the server certificate; turn off only for throwaway test servers'),
      })
      .strict()
      .default({ rejectUnauthorized: true }),
    accounts: z
      .object({
        objectClasses: z
          .array(z.string().regex(ATTRIBUTE))
          .min(1)
          .default(['inetOrgPerson'])
          .describe(
            'Object classes of a new account (inetOrgPerson; posixAccount is added when posix is set)',
          ),
        namingAttribute: z.enum(['uid', 'cn']).default('uid').describe('The RDN attribute of accounts'),
        posix: z
          .object({
            uidNumberStart: z.number().int().min(1).default(10000),
            gidNumber: z.number().int().min(0).describe('Primary group id of new accounts (unless given)'),
            homeDirectory: z
              .string()
              .default('/home/{uid}')
              .describe('Template for homeDirectory; {uid} is replaced by the account uid'),
            loginShell: z.string().optional(),
            counterDn: z
              .string()
              .refine(isValidDn, { error: 'not a valid distinguished name' })
              .optional()
              .describe('Entry holding the next free uidNumber (default cn=gatehouse-uid-next,<baseDn>)'),
          })
          .strict()
          .optional()
          .describe('Make accounts posixAccounts, allocating uidNumber from a counter entry'),
      })
      .strict()
      .default({ objectClasses: ['inetOrgPerson'], namingAttribute: 'uid' }),
    groups: z
      .object({
        namingAttribute: z.string().regex(ATTRIBUTE).default('cn'),
        emptyMember: z
          .string()
          .default('')
          .describe(
            'groupOfNames must have a member: this value (the empty DN by default) stands in when empty',
          ),
      })
      .strict()
      .default({ namingAttribute: 'cn', emptyMember: '' }),
    passwordPolicyDn: z
      .string()
      .refine(isValidDn, { error: 'not a valid distinguished name' })
      .optional()
      .describe('The ppolicy entry that applies to accounts, read to explain refused passwords (optional)'),
    pageSize: z.number().int().min(1).max(10000).default(500).describe('Simple paged results page size'),
    timeoutMs: z.number().int().min(100).default(30_000),
    connectTimeoutMs: z.number().int().min(100).default(10_000),
    syncWindowSeconds: z
      .number()
      .int()
      .min(0)
      .default(3600)
      .describe(
        'sync(null) looks this far back for the newest change, to allow for clock skew with the server',
      ),
    syncBatchSize: z.number().int().min(1).default(1000).describe('Most changes one sync call returns'),
    recentDnMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(1000)
      .describe(
        'A group member write uses a DN the directory gave this connector at most this long ago (ms) instead of searching for it again; 0 searches before every member write. Lower it if other tools rename entries while Gatehouse writes',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ldaps = /^ldaps:/i.test(c.url);
    const mode = c.tls.mode;
    if (mode === 'ldaps' && !ldaps)
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'mode'],
        message: 'tls.mode "ldaps" needs an ldaps:// URL',
      });
    if ((mode === 'starttls' || mode === 'none') && ldaps)
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'mode'],
        message: `tls.mode "${mode}" needs an ldap:// URL (ldaps:// is always TLS)`,
      });
  });

export type LdapConfig = z.output<typeof ldapConfigSchema>;
export type LdapConfigInput = z.input<typeof ldapConfigSchema>;
