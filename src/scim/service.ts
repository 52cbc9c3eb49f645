/**
 * The SCIM service provider's operations on Users and Groups, independent of HTTP. Users are people: every write is
 * one HR push (`src/hr/push.ts`) into the client's HR source, so validation, lifecycle events, effective dates,
 * provisioning and audit are those of a CSV row. Groups are `person_groups` of that source, audited here.
 */
import { isDeepStrictEqual } from 'node:util';
import { appendAudit } from '../audit/index.ts';
import { transaction, type Database, type Tx } from '../db/pool.ts';
import type { Statements } from '../db/pipeline.ts';
import { pushPersonId, PushErrors, type GroupCheck, type GroupRead } from '../hr/push.ts';
import type { ImportDeps } from '../hr/imports.ts';
import { ensureSource } from '../hr/sources.ts';
import type { CommandContext } from '../kit/context.ts';
import { Batcher } from '../kit/batch.ts';
import { GatehouseError, isGatehouseError } from '../kit/errors.ts';
import { scimError } from './errors.ts';
import { listRows, pageOf, prepared, type ListQuery, type ResourceTable } from './query.ts';
import { applyPatch } from './patch.ts';
import { CORE_GROUP, GROUP_RESOURCE, USER_RESOURCE, normalizeResource } from './schema.ts';
import { SqlParams, foldedSql, scalarAt, type ResolvedAttribute } from './sql.ts';
import {
  USER_COLUMNS,
  USER_FROM,
  etagOf,
  versionOf,
  personInputOf,
  userResource,
  type UserRow,
} from './user-records.ts';
import { ENTERPRISE_USER, HR_USER, preparedUserName, resolveUserAttribute } from './users.ts';
import type { AttrPath } from './filter.ts';

type Json = Record<string, unknown>;

/** Who is calling: the HR source their token pushes into, and how forgiving to be. */
export interface ScimClient {
  source: string;
  profile: 'strict' | 'lenient';
  /** Reads everyone (source "*"); such a client cannot write. */
  readAll: boolean;
}

export interface ScimCall {
  deps: ImportDeps & { database: Pick<Database, 'pool' | 'db' | 'reads'> };
  ctx: CommandContext;
  client: ScimClient;
  /** Absolute URL of the SCIM root, e.g. https://gatehouse.example.com/scim/v2 */
  baseUrl: string;
}

export const MAX_RESULTS = 1000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const lenient = (call: ScimCall) => call.client.profile === 'lenient';

function notFound(kind: 'User' | 'Group', id: string): GatehouseError {
  return scimError(404, null, `${kind} ${id} not found`);
}

/** The client's source id, looked up once per call once it exists (the call's first write may create it). */
const sourceIds = new WeakMap<ScimCall, Promise<string | null>>();

function sourceId(call: ScimCall): Promise<string | null> {
  if (call.client.readAll) return Promise.resolve(null);
  let id = sourceIds.get(call);
  if (!id) {
    id = call.deps.database.reads
      .query<{ id: string }>('select id from hr_sources where name = $1', [call.client.source])
      .then((r) => {
        if (r.rows[0]) return r.rows[0].id;
        sourceIds.delete(call);
        return NO_SOURCE;
      });
    sourceIds.set(call, id);
  }
  return id;
}

/** The id of a source that does not exist (yet): matches nobody. */
const NO_SOURCE = '00000000-0000-0000-0000-000000000000';

/** The client's rows, as a condition: its source by name inside the query (no round trip of its own). */
function sourceCondition(
  call: { client: Pick<ScimClient, 'readAll' | 'source'> },
  column: string,
  params: SqlParams,
): string {
  return call.client.readAll
    ? 'true'
    : `${column} = (select id from hr_sources where name = ${params.add(call.client.source)})`;
}

function writable(call: ScimCall): void {
  if (call.client.readAll)
    throw scimError(
      403,
      null,
      'this SCIM client reads every HR source ("*") and cannot write: give it a token with one HR source',
    );
}

// ---------- ETags ----------

/** `If-Match` / `If-None-Match` against the current version: `*` matches anything; weak and strong compare alike. */
export function etagMatches(header: string | undefined, version: number): boolean {
  if (header === undefined) return true;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === `"${version}"`);
}

function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (!etagMatches(ifMatch, version))
    throw scimError(412, null, `the resource changed: it is at version ${etagOf(version)}, not ${ifMatch}`);
}

// ---------- Users ----------

function userTable(call: ScimCall): ResourceTable {
  return {
    from: USER_FROM,
    columns: USER_COLUMNS,
    resolve: resolveUserAttribute,
    key: 'p.id',
    visible: (params: SqlParams) =>
      `p.merged_into is null and p.scim_deleted_at is null and ${sourceCondition(call, 'p.source_id', params)}`,
  };
}

export async function listUsers(call: ScimCall, q: ListQuery) {
  const r = await listRows<UserRow>(call.deps.database.reads, userTable(call), q, {
    lenient: lenient(call),
    maxResults: MAX_RESULTS,
  });
  return {
    totalResults: r.totalResults,
    startIndex: r.startIndex,
    resources: r.rows.map((u) => userResource(u, call.baseUrl)),
  };
}

/** What a client may see: every source's Users, or its own source's. */
type Visible = { client: Pick<ScimClient, 'readAll' | 'source'> };

function scopeOf(call: ScimCall): { scope: string; visible: Visible } {
  const { readAll, source } = call.client;
  return { scope: readAll ? '*' : `source:${source}`, visible: { client: { readAll, source } } };
}

/** The Users with these ids that the client may see, by id (one statement). */
async function usersByIds(
  db: Statements,
  visible: Visible,
  ids: readonly string[],
): Promise<Map<string, UserRow>> {
  const params = new SqlParams();
  const r = await db.query<UserRow>(
    prepared(
      `select ${USER_COLUMNS} from ${USER_FROM}
       where p.id = any(${params.add(ids)}::uuid[]) and p.merged_into is null and p.scim_deleted_at is null
         and ${sourceCondition(visible, 'p.source_id', params)}`,
      params.values,
    ),
  );
  return new Map(r.rows.map((row) => [row.id, row]));
}

/** Users read by id, batched (`Batcher`): per connection pool, then per what the client may see. */
const userReaders = new WeakMap<Statements, Map<string, Batcher<string, UserRow>>>();

function userReader(db: Statements, call: ScimCall): Batcher<string, UserRow> {
  let byScope = userReaders.get(db);
  if (!byScope) userReaders.set(db, (byScope = new Map()));
  const { scope, visible } = scopeOf(call);
  let reader = byScope.get(scope);
  if (!reader) byScope.set(scope, (reader = new Batcher((ids) => usersByIds(db, visible, ids))));
  return reader;
}

/**
 * The written Users read in their push group's transaction (`PushOptions.read`), per what the client may see: one
 * reader per scope, so that the creates of a group share one statement. A write answers with it, as of its commit,
 * without a read of its own afterwards.
 */
const writtenReaders = new Map<string, GroupRead>();

function writtenReader(call: ScimCall): GroupRead {
  const { scope, visible } = scopeOf(call);
  let reader = writtenReaders.get(scope);
  if (!reader) {
    if (writtenReaders.size >= 1_000) writtenReaders.clear();
    writtenReaders.set(scope, (reader = { run: (tx, ids) => usersByIds(tx.client, visible, ids) }));
  }
  return reader;
}

/**
 * A User's row as the client may see it. Reads by id are batched: the requests answered in one turn (a SCIM group's
 * creates, concurrent GETs) read their Users with one statement.
 */
async function userRow(db: Statements, call: ScimCall, id: string): Promise<UserRow | undefined> {
  return UUID_RE.test(id) ? userReader(db, call).load(id.toLowerCase()) : undefined;
}

export async function getUser(call: ScimCall, id: string): Promise<Json> {
  const row = await userRow(call.deps.database.reads, call, id);
  if (!row) throw notFound('User', id);
  return userResource(row, call.baseUrl);
}

/** What Gatehouse would show for a person the client never described: overrides equal to it are not stored. */
function defaultsOf(row: UserRow | undefined, baseUrl: string): Json {
  if (!row) return {};
  const own = Object.fromEntries(Object.entries(row.attributes).filter(([k]) => !k.startsWith('scim.')));
  return userResource({ ...row, attributes: own }, baseUrl);
}

/** A manager given as `manager.value` (their SCIM id) or `managerId` (their employee id) → the employee id. */
async function managerEmployeeId(
  db: Pick<Tx['client'], 'query'>,
  user: Json,
  source: () => Promise<string | null>,
  lenientManager: boolean,
): Promise<string | null> {
  const hr = (user[HR_USER] ?? {}) as Json;
  if (typeof hr.managerId === 'string' && hr.managerId) return hr.managerId;
  const manager = ((user[ENTERPRISE_USER] ?? {}) as Json).manager as Json | undefined;
  const value = manager && typeof manager.value === 'string' ? manager.value : undefined;
  if (!value) return null;
  const r = UUID_RE.test(value)
    ? await db.query<{ employee_id: string }>(
        `select employee_id from people where id = $1 and source_id = $2 and merged_into is null`,
        [value, await source()],
      )
    : { rows: [] };
  if (r.rows[0]) return r.rows[0].employee_id;
  // Entra sends managers it has not provisioned yet: the lenient profile keeps the reference (unresolved).
  if (lenientManager) return null;
  throw scimError(
    400,
    'invalidValue',
    `manager.value "${value}" is not a User of this HR source`,
    `${ENTERPRISE_USER}:manager.value`,
  );
}

/**
 * userName is unique per HR source, case-insensitively (RFC 7643 §4.1.1 "uniqueness": "server"): checked for every
 * write of a group at once, in the push's transaction. That transaction holds the source's lock, which every write
 * of the source's people takes, so nothing can take a name between this check and the write; and two writes of one
 * userName are never in the same group (their push `keys`).
 */
const USERNAME_CHECK: GroupCheck = {
  async run(tx, sourceId, args) {
    const wanted = args as { userName: string; self: string | null }[];
    const username = resolveUserAttribute({ attribute: 'userName' }) as Extract<
      ResolvedAttribute,
      { kind: 'scalar' }
    >;
    // Named: prepared once per connection, not parsed and planned again for every group.
    const r = await tx.client.query<{ i: string; id: string }>({
      name: 'scim_username_check',
      text: `select t.i, q.id from unnest($2::text[], $3::uuid[]) with ordinality as t(name, self, i)
       cross join lateral (
         select p.id from people p where p.source_id = $1 and p.merged_into is null and p.scim_deleted_at is null
           and ${foldedSql(username.sql)} = ${foldedSql('t.name')} and p.id is distinct from t.self limit 1
       ) q`,
      values: [sourceId, wanted.map((w) => w.userName), wanted.map((w) => w.self)],
    });
    const takenBy = new Map(r.rows.map((row) => [Number(row.i) - 1, row.id]));
    return wanted.map((w, i) => {
      const id = takenBy.get(i);
      return id === undefined
        ? null
        : scimError(409, 'uniqueness', `userName "${w.userName}" is already taken by User ${id}`, 'userName');
    });
  },
};

/** HR's field names in errors → the SCIM attribute the client sent. */
const SCIM_NAME_OF: Record<string, string> = {
  employee_id: `${ENTERPRISE_USER}:employeeNumber`,
  first_name: 'name.givenName',
  last_name: 'name.familyName',
  preferred_name: 'nickName',
  title: 'title',
  time_zone: 'timezone',
  department: `${ENTERPRISE_USER}:department`,
  cost_center: `${ENTERPRISE_USER}:costCenter`,
  location: `${HR_USER}:location`,
  manager_id: `${ENTERPRISE_USER}:manager`,
  worker_type: `${HR_USER}:workerType`,
  status: 'active',
  hire_date: `${HR_USER}:hireDate`,
  termination_date: `${HR_USER}:terminationDate`,
};

/** The HR pipeline's refusals, in SCIM's terms (400 invalidValue naming the attribute; 409 uniqueness). */
function asScim(e: unknown): unknown {
  if (!isGatehouseError(e)) return e;
  if (e.code === PushErrors.exists) return scimError(409, 'uniqueness', e.message, SCIM_NAME_OF.employee_id);
  if (e.code === PushErrors.invalid || e.code.startsWith('hr_')) {
    const problems = e.problems.length
      ? e.problems
          .map((p) => `${SCIM_NAME_OF[p.field.replace(/^.*: /, '')] ?? p.field}: ${p.message}`)
          .join('; ')
      : e.message;
    return scimError(e.status === 409 ? 409 : 400, 'invalidValue', problems);
  }
  return e;
}

interface UserWrite {
  user: Json;
  /** The person now (PUT/PATCH/DELETE), with the version the change was computed from. */
  current?: UserRow;
  employeeId: string;
  expect: 'new' | 'existing';
  ifMatch?: string | undefined;
  after?: (tx: Tx, personId: string) => Promise<void>;
  /** Answer with the User as written (read in the write's transaction); not for a DELETE. */
  answer?: boolean;
}

/** The written User's id, and the User as written when asked for (`answer`) and still visible to the client. */
async function writeUser(call: ScimCall, w: UserWrite): Promise<{ id: string; user?: UserRow }> {
  writable(call);
  const sent = w.user.userName;
  if (typeof sent !== 'string' || sent.trim() === '')
    throw scimError(400, 'invalidValue', 'userName is required and cannot be empty', 'userName');
  // Stored as PRECIS prepares it (RFC 7644 §5): compared in any case, it is then compared as RFC 8265 says.
  const userName = preparedUserName(sent);
  const prepared = userName === sent ? w.user : { ...w.user, userName };
  const now = call.ctx.clock.now();
  let input;
  try {
    input = personInputOf(prepared, {
      current: w.current ?? null,
      employeeId: w.employeeId,
      managerEmployeeId: await managerEmployeeId(
        call.deps.database.pool,
        prepared,
        // The source is looked up only for a manager given by SCIM id (a round trip most creates do without).
        () => sourceId(call),
        lenient(call),
      ),
      now,
      defaults: defaultsOf(w.current, call.baseUrl),
    });
  } catch (e) {
    throw asScim(e);
  }
  const current = w.current;
  try {
    // The resource is read in the push's transaction, after every write and `after` (one statement for the group).
    const pushed = await pushPersonId(call.deps, call.ctx, call.client.source, input, {
      expect: w.expect,
      // Two writes of one userName are never grouped in one transaction: the second's check sees the first.
      keys: [`scim-username:${userName.toLowerCase()}`],
      ...(current
        ? {
            guard: async (tx: Tx) => {
              const v = await tx.client.query<{ version: number }>(
                'select version from people where id = $1 for update',
                [current.id],
              );
              const version = v.rows[0]?.version ?? -1;
              checkIfMatch(w.ifMatch, version);
              // Changed since it was read (a concurrent write): the caller recomputes from the new state.
              if (version !== current.version)
                throw new GatehouseError('scim_retry', 'changed concurrently', { status: 409 });
            },
          }
        : {}),
      check: { by: USERNAME_CHECK, arg: { userName, self: current?.id ?? null } },
      ...(w.after ? { after: w.after } : {}),
      ...(w.answer ? { read: writtenReader(call) } : {}),
    });
    const user = pushed.stored as UserRow | undefined;
    return { id: pushed.personId, ...(user ? { user } : {}) };
  } catch (e) {
    throw asScim(e);
  }
}

/** Recompute-and-write with optimistic concurrency: a change computed from a stale read is redone (up to 3 times). */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isGatehouseError(e, 'scim_retry') || attempt >= 3) throw e;
    }
  }
}

export async function createUser(call: ScimCall, body: unknown): Promise<Json> {
  writable(call);
  const { value } = normalizeResource(USER_RESOURCE, body, { lenient: lenient(call) });
  const given = ((value[ENTERPRISE_USER] ?? {}) as Json).employeeNumber;
  const employeeId = typeof given === 'string' && given.trim() ? given.trim() : `scim-${call.ctx.ids()}`;
  // A person this client deleted comes back under the same employee number: a rehire, not a second person.
  const source = typeof given === 'string' ? await sourceId(call) : null;
  const deleted = source
    ? await call.deps.database.pool.query<UserRow & { source_id: string }>(
        `select ${USER_COLUMNS}, p.source_id from ${USER_FROM} where p.source_id = $1 and p.employee_id = $2
           and p.merged_into is null and p.scim_deleted_at is not null`,
        [source, employeeId],
      )
    : { rows: [] };
  const revived = deleted.rows[0];
  const written = await writeUser(call, {
    user: value,
    answer: true,
    employeeId,
    expect: revived ? 'existing' : 'new',
    ...(revived ? { current: revived } : {}),
    after: async (tx, personId) => {
      if (!revived) return;
      await tx.client.query('update people set scim_deleted_at = null where id = $1', [personId]);
      await appendAudit(tx, call.ctx, {
        action: 'scim.user_restored',
        subject: { type: 'person', id: personId },
        after: { source: call.client.source },
        reason: 'created again over SCIM with the employee number of a deleted User',
      });
    },
  });
  return answerWith(call, written);
}

/** The written User as the client sees it: as read in the write's transaction, else read now. */
function answerWith(call: ScimCall, written: { id: string; user?: UserRow }): Promise<Json> | Json {
  return written.user ? userResource(written.user, call.baseUrl) : getUser(call, written.id);
}

async function currentUser(call: ScimCall, id: string): Promise<UserRow> {
  const row = await userRow(call.deps.database.pool, call, id);
  if (!row) throw notFound('User', id);
  return row;
}

export async function replaceUser(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<Json> {
  writable(call);
  const { value } = normalizeResource(USER_RESOURCE, body, { lenient: lenient(call) });
  // An `id` in the body is read-only and ignored (RFC 7643 §2.2): the URL names the resource.
  const written = await retrying(async () => {
    const current = await currentUser(call, id);
    const given = ((value[ENTERPRISE_USER] ?? {}) as Json).employeeNumber;
    if (typeof given === 'string' && given !== current.employee_id)
      throw scimError(
        400,
        'mutability',
        `employeeNumber is immutable: it is "${current.employee_id}", not "${given}"`,
        `${ENTERPRISE_USER}:employeeNumber`,
      );
    return writeUser(call, {
      user: value,
      answer: true,
      current,
      employeeId: current.employee_id,
      expect: 'existing',
      ifMatch,
    });
  });
  return answerWith(call, written);
}

export async function patchUser(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<{ resource: Json; changed: boolean }> {
  writable(call);
  let changed = false;
  const written = await retrying(async () => {
    const current = await currentUser(call, id);
    checkIfMatch(ifMatch, current.version);
    const before = userResource(current, call.baseUrl);
    const r = applyPatch(USER_RESOURCE, before, body, { lenient: lenient(call) });
    changed = r.changed;
    if (!r.changed) return { id };
    const en = ((r.value[ENTERPRISE_USER] ?? {}) as Json).employeeNumber;
    if (en !== undefined && en !== current.employee_id)
      throw scimError(400, 'mutability', 'employeeNumber is immutable', `${ENTERPRISE_USER}:employeeNumber`);
    return writeUser(call, {
      user: r.value,
      answer: true,
      current,
      employeeId: current.employee_id,
      expect: 'existing',
      ifMatch,
    });
  });
  return { resource: await answerWith(call, written), changed };
}

/**
 * RFC 7644 §3.6: the User is gone for this client (404 from now on). In Gatehouse it is a leaver — terminated now
 * unless already, removed from the client's groups — and kept, with its history, for audit and for a rehire.
 */
export async function deleteUser(call: ScimCall, id: string, ifMatch?: string): Promise<void> {
  writable(call);
  await retrying(async () => {
    const current = await currentUser(call, id);
    const user = { ...userResource(current, call.baseUrl), active: false };
    await writeUser(call, {
      user,
      current,
      employeeId: current.employee_id,
      expect: 'existing',
      ifMatch,
      after: async (tx, personId) => {
        const now = call.ctx.clock.now();
        await tx.client.query('update people set scim_deleted_at = $2 where id = $1', [personId, now]);
        const groups = await tx.client.query<{ group_id: string }>(
          'delete from person_group_members where person_id = $1 returning group_id',
          [personId],
        );
        // The groups changed too: new versions (ETags) and lastModified.
        await tx.client.query(
          'update person_groups set version = version + 1, updated_at = $2 where id = any($1::uuid[])',
          [groups.rows.map((g) => g.group_id), now],
        );
        await appendAudit(tx, call.ctx, {
          action: 'scim.user_deleted',
          subject: { type: 'person', id: personId },
          after: { source: call.client.source, removedFromGroups: groups.rows.map((g) => g.group_id) },
          reason: 'deleted over SCIM: a leaver, hidden from the SCIM client',
        });
      },
    });
  });
}

// ---------- Groups ----------

interface GroupRow {
  id: string;
  source_id: string;
  display_name: string;
  external_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const scalar = scalarAt;

const GROUP_MEMBERS = `(select coalesce(jsonb_agg(jsonb_build_object('value', gm.person_id::text,
  'display', gm.display, 'type', 'User')), '[]'::jsonb) from person_group_members gm where gm.group_id = g.id)`;

const GROUP_ATTRIBUTES: Record<string, ResolvedAttribute> = {
  id: scalar('g.id::text', 'string', true),
  externalid: scalar('g.external_id', 'string', true),
  displayname: scalar('g.display_name'),
  members: {
    kind: 'multi',
    sql: GROUP_MEMBERS,
    subAttributes: {
      value: { type: 'string', caseExact: true },
      display: { type: 'string', caseExact: false },
      type: { type: 'string', caseExact: false },
    },
  },
  'meta.created': scalar('g.created_at', 'datetime'),
  'meta.lastmodified': scalar('g.updated_at', 'datetime'),
  'meta.resourcetype': scalar(`'Group'`),
};

function resolveGroupAttribute(path: AttrPath): ResolvedAttribute | undefined {
  if (path.schema && path.schema.toLowerCase() !== CORE_GROUP.toLowerCase()) return undefined;
  return GROUP_ATTRIBUTES[
    `${path.attribute}${path.subAttribute ? `.${path.subAttribute}` : ''}`.toLowerCase()
  ];
}

const GROUP_COLUMNS =
  'g.id, g.source_id, g.display_name, g.external_id, g.version, g.created_at, g.updated_at';

function groupTable(call: ScimCall): ResourceTable {
  return {
    from: 'person_groups g',
    columns: GROUP_COLUMNS,
    resolve: resolveGroupAttribute,
    key: 'g.id',
    visible: (params) => sourceCondition(call, 'g.source_id', params),
  };
}

type Member = { value: string; display: string | null };

async function membersOf(db: Pick<Tx['client'], 'query'>, ids: string[]): Promise<Map<string, Member[]>> {
  const out = new Map<string, Member[]>(ids.map((id) => [id, []]));
  if (!ids.length) return out;
  const r = await db.query<{ group_id: string; person_id: string; display: string | null }>(
    `select gm.group_id, gm.person_id, coalesce(gm.display, p.display_name) as display
       from person_group_members gm join people p on p.id = gm.person_id
      where gm.group_id = any($1::uuid[]) order by gm.group_id, p.last_name, p.first_name, p.id`,
    [ids],
  );
  for (const m of r.rows) out.get(m.group_id)!.push({ value: m.person_id, display: m.display });
  return out;
}

function groupResource(g: GroupRow, members: Member[] | undefined, baseUrl: string): Json {
  return {
    schemas: [CORE_GROUP],
    id: g.id,
    ...(g.external_id ? { externalId: g.external_id } : {}),
    displayName: g.display_name,
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.value,
            ...(m.display ? { display: m.display } : {}),
            $ref: `${baseUrl}/Users/${m.value}`,
            type: 'User',
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: g.created_at.toISOString(),
      lastModified: g.updated_at.toISOString(),
      location: `${baseUrl}/Groups/${g.id}`,
      version: etagOf(g.version),
    },
  };
}

/** `withMembers: false` when the caller excluded them (`excludedAttributes=members`): big groups stay cheap. */
export async function listGroups(call: ScimCall, q: ListQuery, withMembers = true) {
  const r = await listRows<GroupRow>(call.deps.database.reads, groupTable(call), q, {
    lenient: lenient(call),
    maxResults: MAX_RESULTS,
  });
  const members = withMembers
    ? await membersOf(
        call.deps.database.pool,
        r.rows.map((g) => g.id),
      )
    : undefined;
  return {
    totalResults: r.totalResults,
    startIndex: r.startIndex,
    resources: r.rows.map((g) => groupResource(g, members?.get(g.id), call.baseUrl)),
  };
}

async function groupRow(db: Statements, call: ScimCall, id: string, lock = false) {
  if (!UUID_RE.test(id)) return undefined;
  const params = new SqlParams();
  const r = await db.query<GroupRow>(
    `select ${GROUP_COLUMNS} from person_groups g where g.id = ${params.add(id)}
       and ${sourceCondition(call, 'g.source_id', params)}${lock ? ' for update of g' : ''}`,
    params.values,
  );
  return r.rows[0];
}

export async function getGroup(call: ScimCall, id: string, withMembers = true): Promise<Json> {
  const g = await groupRow(call.deps.database.reads, call, id);
  if (!g) throw notFound('Group', id);
  const members = withMembers ? (await membersOf(call.deps.database.pool, [id])).get(id) : undefined;
  return groupResource(g, members, call.baseUrl);
}

/** Members must be Users of this client (people of its HR source, not deleted); groups of groups are not kept. */
async function checkMembers(tx: Tx, sourceId: string, members: Json[]): Promise<Member[]> {
  const out = new Map<string, Member>();
  for (const m of members) {
    if (typeof m.type === 'string' && m.type.toLowerCase() === 'group')
      throw scimError(
        400,
        'invalidValue',
        `member ${String(m.value)}: groups of groups are not supported`,
        'members',
      );
    if (typeof m.value !== 'string')
      throw scimError(400, 'invalidValue', 'every member needs a "value" (the User id)', 'members.value');
    const display = typeof m.display === 'string' ? m.display : null;
    out.set(m.value.toLowerCase(), { value: m.value.toLowerCase(), display });
  }
  const ids = [...out.keys()];
  const bad = ids.filter((id) => !UUID_RE.test(id));
  const known = ids.length
    ? await tx.client.query<{ id: string }>(
        `select id::text from people where id = any($1::uuid[]) and source_id = $2 and merged_into is null
           and scim_deleted_at is null`,
        [ids.filter((id) => UUID_RE.test(id)), sourceId],
      )
    : { rows: [] };
  const found = new Set(known.rows.map((r) => r.id));
  bad.push(...ids.filter((id) => UUID_RE.test(id) && !found.has(id)));
  if (bad.length)
    throw scimError(
      400,
      'invalidValue',
      `members ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is not a User' : 'are not Users'} of this HR source`,
      'members',
    );
  return [...out.values()];
}

interface GroupState {
  displayName: string;
  externalId: string | null;
  members: Member[];
}

function groupStateOf(value: Json): Omit<GroupState, 'members'> & { members: Json[] } {
  return {
    displayName: String(value.displayName ?? ''),
    externalId: typeof value.externalId === 'string' ? value.externalId : null,
    members: Array.isArray(value.members) ? (value.members as Json[]) : [],
  };
}

/** Store a group's new state (members replaced), with one audit event saying what changed. */
async function saveGroup(
  tx: Tx,
  call: ScimCall,
  id: string,
  before: (GroupState & { version: number }) | null,
  next: GroupState,
  sourceId: string,
): Promise<void> {
  const now = call.ctx.clock.now();
  if (!before) {
    await tx.client.query(
      `insert into person_groups (id, source_id, display_name, external_id, version, created_at, updated_at)
       values ($1, $2, $3, $4, 1, $5, $5)`,
      [id, sourceId, next.displayName, next.externalId, now],
    );
  } else {
    await tx.client.query(
      `update person_groups set display_name = $2, external_id = $3, version = version + 1, updated_at = $4
        where id = $1`,
      [id, next.displayName, next.externalId, now],
    );
    await tx.client.query('delete from person_group_members where group_id = $1', [id]);
  }
  if (next.members.length)
    await tx.client.query(
      `insert into person_group_members (group_id, person_id, display)
       select $1, m.person_id, m.display from unnest($2::uuid[], $3::text[]) as m(person_id, display)`,
      [id, next.members.map((m) => m.value), next.members.map((m) => m.display)],
    );
  const was = new Set(before?.members.map((m) => m.value) ?? []);
  const is = new Set(next.members.map((m) => m.value));
  await appendAudit(tx, call.ctx, {
    action: before ? 'group.update' : 'group.create',
    subject: { type: 'group', id },
    before: before ? { displayName: before.displayName, externalId: before.externalId } : null,
    after: {
      source: call.client.source,
      displayName: next.displayName,
      externalId: next.externalId,
      membersAdded: [...is].filter((m) => !was.has(m)),
      membersRemoved: [...was].filter((m) => !is.has(m)),
    },
  });
}

async function writeGroup(
  call: ScimCall,
  id: string | null,
  value: Json,
  ifMatch?: string,
  expectVersion?: number,
): Promise<string> {
  writable(call);
  const groupId = id ?? call.ctx.ids();
  await transaction(call.deps.database, async (tx) => {
    const source = await tx.client.query<{ id: string }>('select id from hr_sources where name = $1', [
      call.client.source,
    ]);
    let sourceId = source.rows[0]?.id;
    if (!sourceId) sourceId = (await ensureSource(tx, call.ctx, call.client.source)).source.id;
    let before: (GroupState & { version: number }) | null = null;
    if (id) {
      const g = await groupRow(tx.client, call, id, true);
      if (!g) throw notFound('Group', id);
      checkIfMatch(ifMatch, g.version);
      if (expectVersion !== undefined && g.version !== expectVersion)
        throw new GatehouseError('scim_retry', 'changed concurrently', { status: 409 });
      before = {
        displayName: g.display_name,
        externalId: g.external_id,
        version: g.version,
        members: (await membersOf(tx.client, [id])).get(id) ?? [],
      };
    }
    const state = groupStateOf(value);
    const members = await checkMembers(tx, sourceId, state.members);
    const next = { ...state, members };
    if (
      before &&
      before.displayName === next.displayName &&
      before.externalId === next.externalId &&
      isDeepStrictEqual(before.members, next.members)
    )
      return;
    await saveGroup(tx, call, groupId, before, next, sourceId);
  });
  return groupId;
}

/** Entra names a member's display `displayName`; the lenient profile reads it as `display`. */
function memberDisplayNames(call: ScimCall, body: unknown): unknown {
  if (!lenient(call) || !body || typeof body !== 'object') return body;
  const fix = (m: unknown) =>
    m && typeof m === 'object' && !Array.isArray(m) && 'displayName' in m && !('display' in m)
      ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k === 'displayName' ? 'display' : k, v]))
      : m;
  const b = body as Json;
  if (Array.isArray(b.members)) return { ...b, members: b.members.map(fix) };
  if (Array.isArray(b.Operations))
    return {
      ...b,
      Operations: b.Operations.map((op: Json) =>
        typeof op?.path === 'string' && /^members$/i.test(op.path) && Array.isArray(op.value)
          ? { ...op, value: op.value.map(fix) }
          : op,
      ),
    };
  return body;
}

export async function createGroup(call: ScimCall, body: unknown): Promise<Json> {
  const { value } = normalizeResource(GROUP_RESOURCE, memberDisplayNames(call, body), {
    lenient: lenient(call),
  });
  return getGroup(call, await writeGroup(call, null, value));
}

export async function replaceGroup(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<Json> {
  const { value } = normalizeResource(GROUP_RESOURCE, memberDisplayNames(call, body), {
    lenient: lenient(call),
  });
  // An `id` in the body is read-only and ignored (RFC 7643 §2.2): the URL names the resource.
  await writeGroup(call, id, value, ifMatch);
  return getGroup(call, id);
}

export async function patchGroup(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<{ resource: Json; changed: boolean }> {
  writable(call);
  let changed = false;
  await retrying(async () => {
    const current = await getGroup(call, id);
    const version = versionOf(current);
    checkIfMatch(ifMatch, version);
    const r = applyPatch(GROUP_RESOURCE, current, memberDisplayNames(call, body), { lenient: lenient(call) });
    changed = r.changed;
    // Written only if the group is still at the version the PATCH was computed from (else recomputed).
    if (r.changed) await writeGroup(call, id, r.value, ifMatch, version);
  });
  return { resource: await getGroup(call, id), changed };
}

export async function deleteGroup(call: ScimCall, id: string, ifMatch?: string): Promise<void> {
  writable(call);
  await transaction(call.deps.database, async (tx) => {
    const g = await groupRow(tx.client, call, id, true);
    if (!g) throw notFound('Group', id);
    checkIfMatch(ifMatch, g.version);
    const members = (await membersOf(tx.client, [id])).get(id) ?? [];
    await tx.client.query('delete from person_groups where id = $1', [id]);
    await appendAudit(tx, call.ctx, {
      action: 'group.delete',
      subject: { type: 'group', id },
      before: {
        displayName: g.display_name,
        externalId: g.external_id,
        members: members.map((m) => m.value),
      },
      after: { source: call.client.source },
    });
  });
}

/**
 * `POST /.search` at the root (RFC 7644 §3.4.3): Users, then Groups, paged as one list. A filter on attributes only
 * one type has selects from that type; a filter neither understands is the request's error, as is any other.
 */
export async function searchAll(call: ScimCall, q: ListQuery, withMembers: boolean) {
  const onlyFilterErrors = (e: unknown) => {
    if (isGatehouseError(e) && e.details.scimType === 'invalidFilter') return null;
    throw e;
  };
  const users = await listUsers(call, { ...q, startIndex: 1, count: 0 }).catch(onlyFilterErrors);
  const groups = await listGroups(call, { ...q, startIndex: 1, count: 0 }, false).catch(onlyFilterErrors);
  if (!users && !groups) await listUsers(call, q);
  const { startIndex, count } = pageOf(q, MAX_RESULTS);
  const nUsers = users?.totalResults ?? 0;
  const resources: Json[] = [];
  if (users && startIndex <= nUsers && count > 0)
    resources.push(...(await listUsers(call, { ...q, startIndex, count })).resources);
  const left = count - resources.length;
  if (groups && left > 0 && groups.totalResults > 0) {
    const page = { ...q, startIndex: Math.max(1, startIndex - nUsers), count: left };
    resources.push(...(await listGroups(call, page, withMembers)).resources);
  }
  return { totalResults: nUsers + (groups?.totalResults ?? 0), startIndex, resources };
}
