/**
 * The manual target: for applications with no API. Every write becomes a task for a person (through
 * `ConnectorDeps.tasks`, which Gatehouse's targets capability provides as a ManualBook); reads come from the ledger
 * of accounts and groups as people confirmed them, which changes when a person completes a task. Nothing here
 * ever holds a password: a password operation asks the person to set a temporary one and hand it over.
 */
import { z } from 'zod';
import { ConnectorError, unsupported } from '../kit/errors.ts';
import type {
  AttributeDelta,
  AttributeSchema,
  Attributes,
  AttributeValue,
  Capability,
  Connector,
  ConnectorDefinition,
  ConnectorDeps,
  ConnectorObject,
  CreateOptions,
  ObjectClass,
  ObjectRef,
  Scalar,
  SearchQuery,
  SetPasswordOptions,
  SyncResult,
  TargetSchema,
} from '../kit/types.ts';
import {
  isManualBook,
  type LedgerObject,
  type ManualBook,
  type ManualOperation,
  type ManualTask,
  type ManualTaskDetails,
} from './book.ts';
import { matchesFilter } from './ledger.ts';

export type { LedgerObject, LedgerChange, ManualBook, ManualOperation, PendingTask } from './book.ts';
export { MANUAL_OPERATIONS, isManualBook } from './book.ts';
export { applyTask, LedgerConflict, type LedgerEffect, type CompletedTask } from './ledger.ts';

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const attributeDefinition = z
  .object({
    name: z.string().regex(ATTRIBUTE_NAME, 'a letter, then letters, digits, ".", "_" or "-" (up to 64)'),
    description: z.string().max(500).optional(),
    required: z.boolean().default(false),
    multiValued: z.boolean().default(false),
  })
  .strict();

const DEFAULT_ATTRIBUTES = [
  { name: 'login', description: 'What the person signs in with', required: true, multiValued: false },
  { name: 'displayName', description: 'Full name', required: false, multiValued: false },
  { name: 'email', description: 'Work email', required: false, multiValued: false },
];

export const manualConfigSchema = z
  .object({
    application: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('The name people know the application by, used in every task (default: the target name)'),
    adminUrl: z
      .url({ protocol: /^https?$/, error: 'an http:// or https:// address' })
      .optional()
      .describe("Where the application's administration screen is"),
    instructions: z
      .string()
      .max(4000)
      .optional()
      .describe('How to do the work, shown at the top of every task (whom to ask, which menu, …)'),
    namingAttribute: z
      .string()
      .default('login')
      .describe('The account attribute that names an account (it must be one of the attributes)'),
    attributes: z
      .array(attributeDefinition)
      .min(1)
      .max(100)
      .default(DEFAULT_ATTRIBUTES)
      .describe('The account attributes people keep in the application'),
    groups: z.boolean().default(true).describe('The application has groups or roles people can be added to'),
    passwords: z.boolean().default(true).describe('The application has its own passwords'),
    lockout: z.boolean().default(true).describe('Accounts can be locked out and need unlocking'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.attributes.some((a) => a.name === c.namingAttribute))
      ctx.addIssue({
        code: 'custom',
        path: ['namingAttribute'],
        message: `"${c.namingAttribute}" is not one of the attributes (${c.attributes.map((a) => a.name).join(', ')})`,
      });
    const seen = new Set<string>();
    c.attributes.forEach((a, i) => {
      if (seen.has(a.name.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['attributes', i, 'name'],
          message: `"${a.name}" appears twice`,
        });
      seen.add(a.name.toLowerCase());
    });
  });
export type ManualConfig = z.infer<typeof manualConfigSchema>;

const TYPE = 'manual';
const GROUP_NAMING = 'name';
const GROUP_ATTRIBUTES = [
  { name: 'name', description: 'Group or role name', required: true, multiValued: false },
  { name: 'description', description: 'What the group gives', required: false, multiValued: false },
];

export function manualCapabilities(c: Pick<ManualConfig, 'groups' | 'passwords' | 'lockout'>): Capability[] {
  const caps: Capability[] = ['test', 'schema', 'search', 'create', 'update', 'rename', 'delete'];
  caps.push('enable', 'disable');
  if (c.passwords) caps.push('setPassword');
  if (c.lockout) caps.push('unlock');
  if (c.groups) caps.push('groups');
  caps.push('sync');
  return caps;
}

export const manualConnector: ConnectorDefinition<ManualConfig> = {
  type: TYPE,
  title: 'Manual (tasks for a person)',
  description:
    'For applications with no API: every change becomes a task for a person, who does it by hand and confirms it with a note. Gatehouse keeps a ledger of the accounts people confirmed.',
  configSchema: manualConfigSchema,
  secretFields: [],
  capabilities: manualCapabilities({ groups: true, passwords: true, lockout: true }),
  open(config: ManualConfig, deps: ConnectorDeps): Connector {
    if (!isManualBook(deps.tasks))
      throw new ConnectorError(
        'invalid_config',
        "the manual connector needs Gatehouse's task list and ledger: open it through the target (openConnector)",
      );
    return openManual(config, deps.tasks);
  },
};

const q = (s: string) => `"${s}"`;

function show(v: AttributeValue | readonly Scalar[]): string {
  if (v === null) return '(empty)';
  if (Array.isArray(v)) return v.map((x) => q(String(x))).join(', ');
  return q(String(v));
}

function openManual(config: ManualConfig, book: ManualBook): Connector {
  const app = config.application ?? book.targetName;
  const capabilities = new Set(manualCapabilities(config));
  const accountAttrs = new Map(config.attributes.map((a) => [a.name.toLowerCase(), a]));
  const groupAttrs = new Map(GROUP_ATTRIBUTES.map((a) => [a.name, a]));

  const need = (cap: Capability, operation: string, why: string) => {
    if (!capabilities.has(cap)) throw unsupported(TYPE, operation, why);
  };
  const noun = (oc: ObjectClass) => (oc === 'group' ? 'group' : 'account');
  const naming = (oc: ObjectClass) => (oc === 'group' ? GROUP_NAMING : config.namingAttribute);
  const knownClass = (oc: ObjectClass, operation: string) => {
    if (oc === 'account') return;
    if (oc === 'group') return need('groups', operation, `${app} is configured without groups`);
    throw new ConnectorError(
      'schema_violation',
      `the manual target ${app} keeps accounts${capabilities.has('groups') ? ' and groups' : ''}, not "${oc}"`,
    );
  };
  const accountOnly = (oc: ObjectClass, operation: string) => {
    if (oc !== 'account') throw unsupported(TYPE, `${operation} a ${noun(oc)}`, 'only accounts have this');
  };
  const definitionOf = (oc: ObjectClass, attr: string) =>
    oc === 'group' ? groupAttrs.get(attr) : accountAttrs.get(attr.toLowerCase());

  /** The steps every task starts and ends with: where to go, and how to finish. */
  const framed = (middle: string[]): string[] => [
    ...(config.adminUrl ? [`Open the administration of ${app}: ${config.adminUrl}`] : []),
    ...(config.instructions ? [config.instructions] : []),
    ...middle,
    'Then complete this task in Gatehouse with a short note: what you did, and any reference number.',
  ];

  const open = async (
    operation: ManualOperation,
    ref: { objectClass: ObjectClass; id: string; name: string },
    summary: string,
    details: ManualTaskDetails,
  ) => {
    const task: ManualTask = {
      targetName: book.targetName,
      operation,
      ref,
      summary,
      details: { ...details, steps: framed(details.steps) },
    };
    return book.open(task);
  };

  /**
   * The object a write is about: in the ledger (by id, else by its possibly stale name), or still waiting for its
   * create task. Anything else is not there.
   */
  const resolve = async (
    ref: ObjectRef,
  ): Promise<{ id: string; name: string; ledger: LedgerObject | undefined; openTasks: number }> => {
    knownClass(ref.objectClass, 'find');
    const ledger =
      (await book.find(ref.objectClass, { id: ref.id })) ??
      (ref.name ? await book.find(ref.objectClass, { name: ref.name }) : undefined);
    const pending = await book.pending(ref.objectClass, { id: ledger?.id ?? ref.id });
    if (ledger) return { id: ledger.id, name: ledger.name, ledger, openTasks: pending.length };
    const create = pending.find((t) => t.operation === 'create');
    if (create)
      return {
        id: create.objectId,
        name: create.objectName ?? ref.name ?? ref.id,
        ledger: undefined,
        openTasks: pending.length,
      };
    throw new ConnectorError(
      'not_found',
      `no ${noun(ref.objectClass)} ${q(ref.name ?? ref.id)} in ${app}: it is not in the ledger of confirmed ${noun(ref.objectClass)}s and no task creates it`,
    );
  };

  const checkNameFree = async (oc: ObjectClass, name: string, exceptId?: string) => {
    const existing = await book.find(oc, { name });
    if (existing && existing.id !== exceptId)
      throw new ConnectorError('already_exists', `${app} already has the ${noun(oc)} ${q(existing.name)}`);
    const creating = (await book.pending(oc, { name })).find(
      (t) => t.operation === 'create' && t.objectId !== exceptId,
    );
    if (creating)
      throw new ConnectorError(
        'already_exists',
        `a task to create the ${noun(oc)} ${q(creating.objectName ?? name)} in ${app} is already open (task ${creating.id})`,
      );
  };

  const checkAttributes = (oc: ObjectClass, attrs: Attributes, creating: boolean) => {
    const unknown = Object.keys(attrs).filter((k) => !definitionOf(oc, k));
    if (unknown.length)
      throw new ConnectorError(
        'schema_violation',
        `${app} has no ${noun(oc)} attribute ${unknown.map(q).join(', ')} (it keeps ${[...(oc === 'group' ? GROUP_ATTRIBUTES : config.attributes)].map((a) => a.name).join(', ')})`,
        { details: { attributes: unknown } },
      );
    for (const [k, v] of Object.entries(attrs)) {
      if (Array.isArray(v) && v.length > 1 && !definitionOf(oc, k)!.multiValued)
        throw new ConnectorError(
          'schema_violation',
          `the ${noun(oc)} attribute ${q(k)} of ${app} holds one value`,
        );
    }
    if (creating) {
      const missing = (oc === 'group' ? GROUP_ATTRIBUTES : config.attributes)
        .filter((a) => a.required && isEmpty(attrs[a.name]))
        .map((a) => a.name);
      if (missing.length)
        throw new ConnectorError(
          'schema_violation',
          `a new ${noun(oc)} in ${app} needs ${missing.map(q).join(', ')}`,
          { details: { attributes: missing } },
        );
    }
  };

  const nameOf = (oc: ObjectClass, attrs: Attributes): string => {
    const v = attrs[naming(oc)];
    const s = Array.isArray(v) ? v[0] : v;
    if (s === null || s === undefined || String(s).trim() === '')
      throw new ConnectorError('schema_violation', `a new ${noun(oc)} in ${app} needs ${q(naming(oc))}`);
    return String(s);
  };

  const toObject = (o: LedgerObject, attributes?: readonly string[]): ConnectorObject => {
    const attrs = attributes
      ? Object.fromEntries(
          attributes.flatMap((a) => {
            const key = Object.keys(o.attributes).find((k) => k.toLowerCase() === a.toLowerCase());
            return key === undefined ? [] : [[key, o.attributes[key]!]];
          }),
        )
      : o.attributes;
    const base = { objectClass: o.objectClass, id: o.id, name: o.name, attributes: attrs };
    return o.objectClass === 'account'
      ? { ...base, enabled: o.enabled, locked: o.locked, memberOf: [...o.memberOf] }
      : base;
  };

  const simple = async (
    ref: ObjectRef,
    operation: 'delete' | 'enable' | 'disable' | 'unlock',
    verb: string,
    step: (name: string) => string,
  ) => {
    const o = await resolve(ref);
    // Nothing for a person to do: the ledger already shows it and nothing about the account is pending.
    if (o.ledger && o.openTasks === 0) {
      if (operation === 'enable' && o.ledger.enabled) return;
      if (operation === 'disable' && !o.ledger.enabled) return;
    }
    const what = `the ${noun(ref.objectClass)} ${q(o.name)}`;
    await open(
      operation,
      { objectClass: ref.objectClass, id: o.id, name: o.name },
      `${verb} ${what} ${operation === 'delete' ? 'from' : 'in'} ${app}`,
      { operation, steps: [step(o.name)] },
    );
  };

  return {
    type: TYPE,
    capabilities,

    async test() {
      const c = await book.counts();
      return {
        ok: true,
        details: {
          application: app,
          mode: 'manual: changes become tasks for a person',
          openTasks: String(c.openTasks),
          accounts: String(c.accounts),
          ...(capabilities.has('groups') ? { groups: String(c.groups) } : {}),
        },
      };
    },

    async schema(): Promise<TargetSchema> {
      const attr = (a: { name: string; description?: string; required: boolean; multiValued: boolean }) =>
        ({
          name: a.name,
          type: 'string',
          multiValued: a.multiValued,
          required: a.required,
          writable: true,
          ...(a.description ? { description: a.description } : {}),
        }) satisfies AttributeSchema;
      return {
        objectClasses: [
          { name: 'account', nativeName: 'account', attributes: config.attributes.map(attr) },
          ...(capabilities.has('groups')
            ? [{ name: 'group', nativeName: 'group', attributes: GROUP_ATTRIBUTES.map(attr) }]
            : []),
        ],
        entitlementTypes: capabilities.has('groups')
          ? [{ name: 'group', objectClass: 'group', description: `Groups or roles in ${app}` }]
          : [],
      };
    },

    async *search(query: SearchQuery) {
      knownClass(query.objectClass, 'search');
      const size = Math.max(1, Math.min(query.pageSize ?? 200, 1000));
      let after: string | null = null;
      for (;;) {
        const page = await book.list(query.objectClass, after, size);
        for (const o of page)
          if (!query.filter || matchesFilter(query.filter, o.attributes)) yield toObject(o, query.attributes);
        if (page.length < size) return;
        after = page[page.length - 1]!.id;
      }
    },

    async get(ref, attributes) {
      knownClass(ref.objectClass, 'read');
      const o =
        (await book.find(ref.objectClass, { id: ref.id })) ??
        (ref.name ? await book.find(ref.objectClass, { name: ref.name }) : undefined);
      return o ? toObject(o, attributes) : undefined;
    },

    async create(objectClass, attributes, options: CreateOptions = {}) {
      knownClass(objectClass, 'create');
      checkAttributes(objectClass, attributes, true);
      const name = nameOf(objectClass, attributes);
      await checkNameFree(objectClass, name);
      const account = objectClass === 'account';
      const enabled = options.enabled ?? true;
      const temporaryPassword = account && capabilities.has('setPassword') && options.password !== undefined;
      const mustChange = temporaryPassword && options.mustChangePassword === true;
      const values = Object.entries(attributes).filter(([, v]) => !isEmpty(v));
      const steps = [
        `Create the ${noun(objectClass)} ${q(name)} with: ${values.map(([k, v]) => `${k} ${show(v)}`).join('; ')}.`,
        ...(account && !enabled ? ['Leave the account disabled: it is not to be used yet.'] : []),
        ...(temporaryPassword
          ? [
              `Set a temporary password and give it to the person through the usual channel (never in this task or by plain email)${mustChange ? '; they must change it when they first sign in' : ''}.`,
            ]
          : []),
      ];
      const id = book.newId();
      await open(
        'create',
        { objectClass, id, name },
        `Create the ${noun(objectClass)} ${q(name)} in ${app}`,
        {
          operation: 'create',
          steps,
          attributes: Object.fromEntries(values),
          enabled,
          temporaryPassword,
          mustChangePassword: mustChange,
        },
      );
      return {
        objectClass,
        id,
        name,
        attributes: Object.fromEntries(values),
        ...(account ? { enabled, locked: false, memberOf: [] } : {}),
      };
    },

    async update(ref, deltas: readonly AttributeDelta[]) {
      knownClass(ref.objectClass, 'update');
      if (deltas.length === 0) return;
      const unknown = deltas
        .filter((d) => !definitionOf(ref.objectClass, d.attribute))
        .map((d) => d.attribute);
      if (unknown.length)
        checkAttributes(ref.objectClass, Object.fromEntries(unknown.map((u) => [u, null])), false);
      const renaming = deltas.find(
        (d) => d.attribute.toLowerCase() === naming(ref.objectClass).toLowerCase(),
      );
      if (renaming)
        throw new ConnectorError(
          'schema_violation',
          `${q(renaming.attribute)} names the ${noun(ref.objectClass)}: change it with rename, not update`,
        );
      for (const d of deltas)
        if (
          d.op !== 'remove' &&
          d.values.length > 1 &&
          !definitionOf(ref.objectClass, d.attribute)!.multiValued
        )
          throw new ConnectorError(
            'schema_violation',
            `the ${noun(ref.objectClass)} attribute ${q(d.attribute)} of ${app} holds one value`,
          );
      const o = await resolve(ref);
      const steps = deltas.map((d) =>
        d.op === 'replace'
          ? d.values.length === 0
            ? `Clear ${d.attribute}.`
            : `Set ${d.attribute} to ${show(d.values)}.`
          : d.op === 'add'
            ? `Add ${show(d.values)} to ${d.attribute}.`
            : d.values.length === 0
              ? `Clear ${d.attribute}.`
              : `Remove ${show(d.values)} from ${d.attribute}.`,
      );
      await open(
        'update',
        { objectClass: ref.objectClass, id: o.id, name: o.name },
        `Change the ${noun(ref.objectClass)} ${q(o.name)} in ${app}`,
        {
          operation: 'update',
          steps: [`Change the ${noun(ref.objectClass)} ${q(o.name)}:`, ...steps],
          changes: deltas.map((d) => ({ attribute: d.attribute, op: d.op, values: [...d.values] })),
        },
      );
    },

    async rename(ref, newName) {
      knownClass(ref.objectClass, 'rename');
      if (newName.trim() === '')
        throw new ConnectorError(
          'schema_violation',
          `the new name of a ${noun(ref.objectClass)} cannot be empty`,
        );
      const o = await resolve(ref);
      if (o.name === newName) return { objectClass: ref.objectClass, id: o.id, name: o.name };
      await checkNameFree(ref.objectClass, newName, o.id);
      await open(
        'rename',
        { objectClass: ref.objectClass, id: o.id, name: o.name },
        `Rename the ${noun(ref.objectClass)} ${q(o.name)} to ${q(newName)} in ${app}`,
        {
          operation: 'rename',
          steps: [`Change ${naming(ref.objectClass)} of ${q(o.name)} to ${q(newName)}.`],
          from: o.name,
          to: newName,
          attribute: naming(ref.objectClass),
        },
      );
      return { objectClass: ref.objectClass, id: o.id, name: newName };
    },

    async delete(ref) {
      await simple(
        ref,
        'delete',
        'Delete',
        (n) => `Delete ${q(n)}; if the application cannot delete, disable it and say so in the note.`,
      );
    },

    async enable(ref) {
      accountOnly(ref.objectClass, 'enable');
      await simple(ref, 'enable', 'Enable', (n) => `Enable ${q(n)} so that the person can sign in again.`);
    },

    async disable(ref) {
      accountOnly(ref.objectClass, 'disable');
      await simple(
        ref,
        'disable',
        'Disable',
        (n) => `Disable ${q(n)} so that nobody can sign in with it (do not delete it).`,
      );
    },

    async unlock(ref) {
      need('unlock', 'unlock accounts', `${app} is configured without lockouts`);
      accountOnly(ref.objectClass, 'unlock');
      await simple(ref, 'unlock', 'Unlock', (n) => `Unlock ${q(n)} (clear the lockout; keep the password).`);
    },

    async setPassword(ref, _password, options: SetPasswordOptions = {}) {
      need('setPassword', 'set passwords', `${app} is configured without passwords of its own`);
      accountOnly(ref.objectClass, 'set the password of');
      // The password itself is dropped here on purpose: a task is read by people and kept; it never holds one.
      const o = await resolve(ref);
      const must = options.mustChangePassword === true;
      await open(
        'setPassword',
        { objectClass: 'account', id: o.id, name: o.name },
        `Reset the password of ${q(o.name)} in ${app}`,
        {
          operation: 'setPassword',
          steps: [
            `Set a temporary password for ${q(o.name)} and give it to the person through the usual channel (never in this task or by plain email)${must ? '; they must change it when they next sign in' : ''}.`,
          ],
          mustChangePassword: must,
        },
      );
    },

    async addMember(group, member) {
      await membership('addMember', group, member);
    },

    async removeMember(group, member) {
      await membership('removeMember', group, member);
    },

    async sync(objectClass, token): Promise<SyncResult> {
      knownClass(objectClass, 'sync');
      if (token === null) return { changes: [], token: String(await book.position()) };
      const since = Number(token);
      if (!/^\d+$/.test(token) || !Number.isSafeInteger(since))
        throw new ConnectorError('invalid_config', `"${token}" is not a sync token of the manual connector`);
      const limit = 500;
      const rows = await book.changes(objectClass, since, limit);
      return {
        changes: rows.map((r) =>
          r.deleted
            ? {
                type: 'delete' as const,
                object: { objectClass: r.object.objectClass, id: r.object.id, name: r.object.name },
              }
            : { type: 'upsert' as const, object: toObject(r.object) },
        ),
        token: String(rows.length ? rows[rows.length - 1]!.seq : since),
        ...(rows.length === limit ? { more: true } : {}),
      };
    },

    async close() {},
  };

  async function membership(operation: 'addMember' | 'removeMember', group: ObjectRef, member: ObjectRef) {
    need(
      'groups',
      operation === 'addMember' ? 'add group members' : 'remove group members',
      `${app} is configured without groups`,
    );
    if (group.objectClass !== 'group')
      throw new ConnectorError(
        'schema_violation',
        `members are added to groups, not to a ${noun(group.objectClass)}`,
      );
    accountOnly(member.objectClass, 'add to a group');
    const g = await resolve(group);
    const m = await resolve(member);
    if (m.ledger && m.openTasks === 0) {
      const isMember = m.ledger.memberOf.includes(g.id);
      if (operation === 'addMember' && isMember) return;
      if (operation === 'removeMember' && !isMember) return;
    }
    const add = operation === 'addMember';
    await open(
      operation,
      { objectClass: 'account', id: m.id, name: m.name },
      add
        ? `Add ${q(m.name)} to the group ${q(g.name)} in ${app}`
        : `Remove ${q(m.name)} from the group ${q(g.name)} in ${app}`,
      {
        operation,
        steps: [add ? `Add ${q(m.name)} to ${q(g.name)}.` : `Remove ${q(m.name)} from ${q(g.name)}.`],
        group: { id: g.id, name: g.name },
      },
    );
  }
}

function isEmpty(v: AttributeValue | undefined): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}
