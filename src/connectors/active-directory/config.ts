import { z } from 'zod';
import { isUnder, isValidDn } from '../ldap/escape.ts';
import { GROUP_TYPE, type GroupScope } from './codec.ts';

const dn = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .refine(isValidDn, {
      error: 'not a valid distinguished name (RFC 4514), e.g. OU=Staff,DC=corp,DC=example,DC=com',
    })
    .describe(what);

const UPN_RE = /^[^@\s]+@[^@\s]+$/;
const DOWN_LEVEL_RE = /^[^\\\s]+\\[^\\\s]+$/;

export const adConfigSchema = z
  .object({
    url: z
      .string()
      .trim()
      .regex(/^ldaps:\/\/[^/\s]+\/?$/i, {
        error:
          'an ldaps:// URL, e.g. ldaps://dc1.corp.example.com:636 (Active Directory sets passwords only over an encrypted connection)',
      })
      .describe('A domain controller, e.g. ldaps://dc1.corp.example.com:636'),
    bindDn: z
      .string()
      .trim()
      .min(1)
      .refine((v) => isValidDn(v) || UPN_RE.test(v) || DOWN_LEVEL_RE.test(v), {
        error: 'a DN, a user principal name (svc-gatehouse@corp.example.com) or DOMAIN\\user',
      })
      .describe(
        'The account Gatehouse binds as: DN, UPN or DOMAIN\\user. It needs to create, move and delete users and ' +
          'groups in the OUs below and to reset passwords there',
      ),
    bindPassword: z.string().min(1).describe('Password of the bind account (stored encrypted, never shown)'),
    baseDn: dn('The domain naming context, e.g. DC=corp,DC=example,DC=com'),
    usersDn: dn('The OU new accounts go in when their department has no OU of its own'),
    groupsDn: dn('The OU groups are created and searched in'),
    upnSuffix: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/, {
        error: 'a DNS domain such as corp.example.com',
      })
      .describe('UPN suffix: a new account without userPrincipalName gets <sAMAccountName>@<upnSuffix>'),
    departmentOus: z
      .record(z.string().min(1), dn('The OU of this department'))
      .default({})
      .describe(
        'department → OU. A new account goes in its department OU; an update that changes department moves the ' +
          'account to the new department OU (or back to usersDn when the new department has none)',
      ),
    groupScope: z
      .enum(Object.keys(GROUP_TYPE) as [GroupScope, ...GroupScope[]])
      .default('global-security')
      .describe('groupType of new groups that do not set one'),
    tls: z
      .object({
        ca: z
          .string()
          .optional()
          .describe('PEM of the CA that signed the DC certificate (default: system CAs)'),
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe('Verify the DC certificate; turn off only for throwaway test servers'),
      })
      .strict()
      .default({ rejectUnauthorized: true }),
    pageSize: z.number().int().min(1).max(5000).default(500).describe('Simple paged results page size'),
    timeoutMs: z.number().int().min(100).default(30_000),
    connectTimeoutMs: z.number().int().min(100).default(10_000),
    syncBatchSize: z.number().int().min(1).default(1000).describe('Most changes one sync call returns'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!isValidDn(c.baseDn)) return;
    const under = (path: (string | number)[], value: string) => {
      if (isValidDn(value) && !isUnder(value, c.baseDn))
        ctx.addIssue({ code: 'custom', path, message: `${value} is not inside baseDn ${c.baseDn}` });
    };
    under(['usersDn'], c.usersDn);
    under(['groupsDn'], c.groupsDn);
    for (const [dept, ou] of Object.entries(c.departmentOus)) under(['departmentOus', dept], ou);
  });

export type AdConfig = z.output<typeof adConfigSchema>;
export type AdConfigInput = z.input<typeof adConfigSchema>;
