/**
 * The policy document: roles, birthright rules, per-target account mappings, SoD rules and settings. It is what
 * `gatehouse policy export` writes and `policy apply` reads (as YAML), and what the console edits. Structure is
 * checked by zod; meaning (CEL that parses and names known fields, roles and targets that exist, entitlements in
 * the catalog) by `checkPolicy`, which reports every problem with its path.
 */
import { z } from 'zod';

const NAME = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(120, { error: 'at most 120 characters' });
const CEL = z.string().trim().min(1, { error: 'an expression (CEL) is required' }).max(4000);

export const entitlementRefSchema = z
  .object({
    target: NAME.describe('Target name'),
    entitlement: NAME.describe('Entitlement key in the target catalog'),
  })
  .strict();
export type EntitlementRef = z.output<typeof entitlementRefSchema>;

export const sodItemSchema = z.union([
  entitlementRefSchema,
  z.object({ role: NAME.describe('Role name') }).strict(),
]);
export type SodItem = z.output<typeof sodItemSchema>;

/** Person fields an account can be correlated on. */
export const CORRELATION_FIELDS = ['employeeId', 'username', 'workEmail'] as const;
export type CorrelationField = (typeof CORRELATION_FIELDS)[number];

export const reconcilePolicySchema = z
  .object({
    correlation: z
      .array(
        z
          .object({
            attribute: z.string().trim().min(1).max(120).describe('Account attribute on the target'),
            person: z.enum(CORRELATION_FIELDS).describe('The person field it holds'),
          })
          .strict(),
      )
      .max(10)
      .optional()
      .describe(
        'Tried in order, a unique match links; default: attributes mapped straight from person.employeeId, person.username or person.workEmail',
      ),
    maxDrop: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe('A full read this much smaller than the last completed one aborts the run'),
    inactiveDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(90)
      .describe('An enabled account with no sign-in for this many days is inactive'),
  })
  .strict();
export type ReconcilePolicy = z.output<typeof reconcilePolicySchema>;

export const targetPolicySchema = z
  .object({
    account: z
      .object({
        namingAttribute: z
          .string()
          .min(1)
          .optional()
          .describe('The attribute whose change is a rename (LDAP uid/cn); other changes are updates'),
        attributes: z
          .record(z.string().min(1).max(120), CEL)
          .default({})
          .describe('Account attribute → CEL expression over person, manager and target'),
      })
      .strict()
      .default({ attributes: {} }),
    password: z
      .object({
        initial: z
          .enum(['generate', 'none'])
          .default('none')
          .describe('generate: a random initial password (never shown, never stored); none: no password'),
        mustChange: z.boolean().default(true),
      })
      .strict()
      .default({ initial: 'none', mustChange: true }),
    provision: z
      .object({
        prehire: z
          .enum(['disabled', 'enabled', 'none'])
          .default('disabled')
          .describe(
            'Accounts of future starters: created disabled (enabled on the start day), enabled, or not yet',
          ),
      })
      .strict()
      .default({ prehire: 'disabled' }),
    deprovision: z
      .object({
        action: z
          .enum(['delete', 'disable'])
          .default('disable')
          .describe('After the quarantine: delete the account, or keep it disabled'),
        quarantineDays: z.number().int().min(0).max(3650).default(30),
      })
      .strict()
      .default({ action: 'disable', quarantineDays: 30 }),
    apply: z
      .object({
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(4)
          .describe('Accounts changed at once on this target'),
        ratePerSecond: z.number().min(0.1).max(10_000).default(100).describe('Most operations per second'),
      })
      .strict()
      .default({ concurrency: 4, ratePerSecond: 100 }),
    massChange: z
      .object({
        threshold: z.number().min(0).max(1),
        minimum: z.number().int().min(1),
      })
      .strict()
      .optional()
      .describe('Overrides settings.massChange for this target'),
    reconcile: reconcilePolicySchema.default({ maxDrop: 0.2, inactiveDays: 90 }),
  })
  .strict();
export type TargetPolicy = z.output<typeof targetPolicySchema>;

export const roleSchema = z
  .object({
    name: NAME,
    description: z.string().max(2000).default(''),
    accounts: z.array(NAME).default([]).describe('Targets where the role gives an account (without a group)'),
    grants: z.array(entitlementRefSchema).default([]).describe('Entitlements (and so an account) on targets'),
  })
  .strict();
export type Role = z.output<typeof roleSchema>;

export const ruleSchema = z
  .object({
    name: NAME,
    description: z.string().max(2000).default(''),
    when: CEL.describe('CEL condition over person, e.g. person.department == "Sales"'),
    roles: z.array(NAME).min(1, { error: 'a rule grants at least one role' }),
    enabled: z.boolean().default(true),
  })
  .strict();
export type Rule = z.output<typeof ruleSchema>;

export const sodRuleSchema = z
  .object({
    name: NAME,
    reason: z.string().trim().min(1, { error: 'say why the two sides conflict' }).max(2000),
    left: z.array(sodItemSchema).min(1),
    right: z.array(sodItemSchema).min(1),
    action: z
      .enum(['block', 'approve'])
      .default('block')
      .describe('block: the conflicting grant is withheld; approve: it waits for an approver'),
  })
  .strict();
export type SodRule = z.output<typeof sodRuleSchema>;

export const massChangeSchema = z
  .object({
    threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe(
        'Share of a target’s accounts a change set may disable or delete before it waits for approval',
      ),
    minimum: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('Below this many disables/deletes the brake never acts'),
  })
  .strict();

export const policyDocumentSchema = z
  .object({
    settings: z
      .object({ massChange: massChangeSchema.default({ threshold: 0.2, minimum: 10 }) })
      .strict()
      .default({ massChange: { threshold: 0.2, minimum: 10 } }),
    targets: z.record(NAME, targetPolicySchema).default({}),
    roles: z.array(roleSchema).default([]),
    rules: z.array(ruleSchema).default([]),
    sod: z.array(sodRuleSchema).default([]),
  })
  .strict();
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;

export const EMPTY_POLICY: PolicyDocument = policyDocumentSchema.parse({});
