import { sql } from 'drizzle-orm';
import { copyRows } from '../db/copy.ts';
import type { Database, Tx } from '../db/pool.ts';
import type { WriteBehind } from '../db/write-behind.ts';
import { GatehouseError } from '../kit/errors.ts';
import { NamingErrors, type NamingPolicy } from './policy.ts';
import { candidateName, isCandidateOf, isReserved, renderTemplate } from './templates.ts';

/**
 * The name registry: every username and email address ever generated, past and present. A value is taken unless
 * its `reusable_after` has passed; a leaver's names stay reserved to them (and only them) until then.
 *
 * Allocation is set-based: one probe of the base index for every base in the batch, the choice in memory, one
 * insert per chunk. Allocations are serialised by an advisory lock held to commit.
 */

export type NameKind = 'username' | 'email';

/** A person to name. `first` is the preferred name when there is one (else the legal first name). */
export interface NamingPerson {
  personId: string;
  first: string;
  last: string;
  legalFirst: string;
  employeeId: string;
}

export interface AllocatedNames {
  username: string;
  workEmail: string;
  displayName: string;
}

export interface RenamePerson extends NamingPerson {
  /** The names the person holds now (null when they have none). */
  username: string | null;
  workEmail: string | null;
}

const NAMING_LOCK = 7_201_010; // advisory lock id: "one name allocator at a time" (held to commit)
const LOOKUP_CHUNK = 50_000;
/** Suffixes up to 7 digits are probed; no base has ten million holders. */
const MAX_SUFFIX_DIGITS = 7;
/**
 * The registry is first read for suffixes up to 3 digits (a thousand holders of one base), and for all of them only
 * when a base runs past that (`NeedsWiderRead`). A base cut to fit the length limit has candidates that are other
 * bases: with a 20-character limit, candidate 10000 of alexandra.load12345 is "alexandra.load10000", so reading
 * every suffix length read every alexandra.load<n> there is (bench scim, family names ending in digits).
 */
const FIRST_SUFFIX_DIGITS = 3;
const DAY_MS = 86_400_000;
const KEY_RE = /[0-9]+(@|$)/;
const ENDS_WITH_DIGIT_RE = /[0-9]$/;

/** The key of a value: the value without the digits before its "@" or at its end ("jane.doe7" → "jane.doe"). */
function indexKey(value: string): string {
  return value.replace(KEY_RE, '$1');
}

/** The names a person's bases render to under a policy (before any collision suffix). */
export function baseNames(
  person: Omit<NamingPerson, 'personId'>,
  policy: NamingPolicy,
): { username: string; emailLocal: string; displayName: string } {
  const name = {
    first: person.first,
    last: person.last,
    legalFirst: person.legalFirst,
    employeeId: person.employeeId,
  };
  return {
    username: renderTemplate(policy.username.template, name, 'identifier', {
      maxLength: policy.username.maxLength,
    }),
    emailLocal: renderTemplate(policy.email.template, name, 'identifier', {
      maxLength: policy.email.maxLength,
    }),
    displayName: renderTemplate(policy.displayName.template, name, 'display'),
  };
}

/** The n-th candidate local value of a kind (a username, or an email's local part). */
function candidate(kind: NameKind, base: string, n: number, policy: NamingPolicy): string | null {
  return candidateName(base, n, kind === 'username' ? policy.username.maxLength : policy.email.maxLength);
}

/** What to read of the registry for some bases: ranges of the primary key, and the index keys to keep from them. */
interface Lookup {
  /**
   * Every value whose key is wanted and that is a candidate lies in [prefix, prefix || 'A') of one of these, or is
   * one of `exact`.
   */
  prefixes: Set<string>;
  /** Registry values read as they are (with the policy's domain for emails): a base that ends in digits. */
  exact: Set<string>;
  keys: Set<string>;
  /** Candidates with suffixes of up to this many digits are covered. */
  digits: number;
}

function newLookups(digits: number): Record<NameKind, Lookup> {
  return {
    username: { prefixes: new Set(), exact: new Set(), keys: new Set(), digits },
    email: { prefixes: new Set(), exact: new Set(), keys: new Set(), digits },
  };
}

/** A base ran past the candidates read: read them all (rare: a thousand holders of one base). */
class NeedsWiderRead extends Error {}

/**
 * Every index key any candidate of a base can have (one per suffix length: the cut of the base depends on it), and
 * the range each lies in: the candidate without its suffix. (Not the key: the key of a base ending in digits,
 * "anna.load123", is "anna.load", whose range holds every anna.load<n> there is.) A base that ends in digits is
 * read exactly: its suffixed candidates take a separator ("anna.load123-2", in the range of "anna.load123-"), so
 * its own range would hold only other bases (anna.load1230, anna.load12345, …) — hundreds of rows for nothing.
 */
function keysOf(kind: NameKind, base: string, policy: NamingPolicy, into: Lookup): void {
  const maxLength = kind === 'username' ? policy.username.maxLength : policy.email.maxLength;
  const at = kind === 'email' ? `@${policy.email.domain}` : '';
  // Short bases are never cut: the base and one suffixed candidate give every key.
  const top = base.length + 1 + MAX_SUFFIX_DIGITS <= maxLength ? 1 : into.digits;
  for (let digits = 0; digits <= top; digits++) {
    const n = digits === 0 ? 1 : digits === 1 ? 2 : 10 ** (digits - 1);
    const c = candidateName(base, n, maxLength);
    if (c === null) return;
    into.keys.add(indexKey(c + at));
    if (digits > 0) into.prefixes.add(c.slice(0, c.length - digits));
    else if (ENDS_WITH_DIGIT_RE.test(c)) into.exact.add(c + at);
    else into.prefixes.add(c);
  }
}

interface Holder {
  personId: string;
  /** Past its embargo: anyone may get it. */
  reusable: boolean;
}

/**
 * What is taken, per kind, by local value (emails by their part before "@domain" of the policy's domain; other
 * domains cannot collide): registry rows, and what this batch has handed out already.
 */
class Availability {
  readonly rows: Record<NameKind, Map<string, Holder>> = { username: new Map(), email: new Map() };
  readonly handedOut: Record<NameKind, Set<string>> = { username: new Set(), email: new Set() };
  readonly policy: NamingPolicy;
  /** People of the batch holding a loaded row: their own names are free to them (and to nobody else). */
  readonly holders = new Set<string>();
  /**
   * Per base: every candidate below this suffix is taken for anyone who does not hold it. Taken names only
   * accumulate during a batch, so the next Jane Doe starts where the last one stopped.
   */
  private readonly from: Record<NameKind, Map<string, number>> = { username: new Map(), email: new Map() };
  private readonly reserved: Set<string>;
  private readonly domainSuffix: string;
  /** Candidates from this suffix on were not read. */
  private readonly readBelow: number;

  constructor(policy: NamingPolicy, digitsRead: number) {
    this.policy = policy;
    this.readBelow = 10 ** digitsRead;
    this.reserved = new Set(policy.reserved.map((r) => r.trim().toLowerCase()));
    this.domainSuffix = `@${policy.email.domain}`;
  }

  load(kind: NameKind, value: string, holder: Holder, batch: ReadonlySet<string>): void {
    let local = value;
    if (kind === 'email') {
      if (!value.endsWith(this.domainSuffix)) return;
      local = value.slice(0, -this.domainSuffix.length);
    }
    this.rows[kind].set(local, holder);
    if (batch.has(holder.personId)) this.holders.add(holder.personId);
  }

  /** Whether a registry row exists for the value (a reservation then updates it rather than inserting). */
  known(kind: NameKind, local: string): boolean {
    return this.rows[kind].has(local);
  }

  free(kind: NameKind, local: string, personId: string): boolean {
    if (this.handedOut[kind].has(local) || this.reserved.has(local)) return false;
    const row = this.rows[kind].get(local);
    return !row || row.reusable || row.personId === personId;
  }

  /** Hand a candidate out: nobody else in the batch gets it. */
  take(kind: NameKind, base: string, choice: { n: number; value: string }): void {
    this.handedOut[kind].add(choice.value);
    if (this.from[kind].get(base) === choice.n) this.from[kind].set(base, choice.n + 1);
  }

  /** The smallest n whose candidate is free, and that candidate; throws when none is left within the limit. */
  firstFree(kind: NameKind, base: string, personId: string): { n: number; value: string } {
    const limit = 10 ** MAX_SUFFIX_DIGITS;
    const holder = this.holders.has(personId);
    const start = holder ? 1 : (this.from[kind].get(base) ?? 1);
    for (let n = start; n < limit; n++) {
      if (n >= this.readBelow) throw new NeedsWiderRead();
      const c = candidate(kind, base, n, this.policy);
      if (c === null) break;
      if (this.free(kind, c, personId)) {
        if (!holder) this.from[kind].set(base, n);
        return { n, value: c };
      }
    }
    throw new GatehouseError(
      NamingErrors.exhausted,
      `No free ${kind} is left for "${base}": every candidate within the length limit is taken. Raise the ${kind} maxLength or change the template.`,
      { status: 409, problems: [{ field: `${kind}.maxLength`, message: `no free candidate for "${base}"` }] },
    );
  }
}

interface VariantRow {
  kind: NameKind;
  value: string;
  person_id: string;
  reusable: boolean;
}

/**
 * The registered names that may be variants of the lookups' prefixes. With `locked`, under the naming lock, taken by
 * the same statement (`name_variants_locked`, migration 0015: one round trip; the read still sees everything
 * committed before the lock was granted).
 */
async function readVariants(
  db: Pick<Database, 'pool'> | Tx,
  lookups: Record<NameKind, Lookup>,
  now: Date,
  locked: boolean,
): Promise<VariantRow[]> {
  const client = 'client' in db ? db.client : db.pool;
  // Both kinds in one read (chunked for a bulk import): the prefixes and exact values of each, with their kind.
  const probes = (which: 'prefixes' | 'exact') =>
    (['username', 'email'] as const).flatMap((kind) =>
      [...lookups[kind][which]].map((v) => [kind, v] as const),
    );
  const ranges = probes('prefixes');
  const exact = probes('exact');
  const rows: VariantRow[] = [];
  // At least one call, so that the lock is taken even with nothing to look up.
  for (let i = 0; i === 0 || i < ranges.length || i < exact.length; i += LOOKUP_CHUNK) {
    const r = ranges.slice(i, i + LOOKUP_CHUNK);
    const x = exact.slice(i, i + LOOKUP_CHUNK);
    const result = await client.query<VariantRow>({
      name: 'name_variants_locked',
      text: 'select kind, value, person_id, reusable from name_variants_locked($1, $2, $3::text[], $4::text[], $5::text[], $6::text[])',
      values: [
        locked ? NAMING_LOCK : null,
        now,
        r.map((c) => c[0]),
        r.map((c) => c[1]),
        x.map((c) => c[0]),
        x.map((c) => c[1]),
      ],
    });
    for (const row of result.rows) rows.push(row);
  }
  return rows;
}

/** The rows of the lookups' keys, loaded into `into`. */
function loadVariants(
  rows: readonly VariantRow[],
  lookups: Record<NameKind, Lookup>,
  into: Availability,
  batch: ReadonlySet<string>,
): void {
  for (const row of rows)
    if (lookups[row.kind].keys.has(indexKey(row.value)))
      into.load(row.kind, row.value, { personId: row.person_id, reusable: row.reusable }, batch);
}

/** The lookups for some people's bases under a policy, for candidates with suffixes of up to `digits` digits. */
function lookupsOf(
  bases: readonly { username: string; emailLocal: string }[],
  policy: NamingPolicy,
  digits: number,
) {
  const keys = newLookups(digits);
  const seen: Record<NameKind, Set<string>> = { username: new Set(), email: new Set() };
  for (const b of bases) {
    if (!seen.username.has(b.username)) {
      seen.username.add(b.username);
      keysOf('username', b.username, policy, keys.username);
    }
    if (!seen.email.has(b.emailLocal)) {
      seen.email.add(b.emailLocal);
      keysOf('email', b.emailLocal, policy, keys.email);
    }
  }
  return keys;
}

/** What `readNamesAhead` read: the policy and lookups it read for, and the rows. */
export interface NamesRead {
  policyJson: string;
  lookups: Record<NameKind, Lookup>;
  /** Each person's bases under the policy, by `nameKey`. */
  bases: Map<string, Bases>;
  rows: VariantRow[];
}

/**
 * Read, under the naming lock, the registry rows that naming these people could need, before it is known which of
 * them will be named (a group of pushes: those already stored or refused are not). Sent with other statements of
 * the transaction, it saves `allocateNames` its own round trip when the policy it is given is the one read for, and
 * every person it names was among these.
 */
export async function readNamesAhead(
  tx: Tx,
  people: readonly Omit<NamingPerson, 'personId'>[],
  policy: NamingPolicy,
  now: Date,
): Promise<NamesRead> {
  // A person whose names cannot be made is left out here: naming them fails where it always did.
  const bases = new Map<string, Bases>();
  for (const p of people) {
    try {
      bases.set(nameKey(p), baseNames(p, policy));
    } catch {
      // named (and refused) by allocateNames
    }
  }
  const lookups = lookupsOf([...bases.values()], policy, FIRST_SUFFIX_DIGITS);
  return {
    policyJson: JSON.stringify(policy),
    lookups,
    bases,
    rows: await readVariants(tx, lookups, now, true),
  };
}

type Bases = ReturnType<typeof baseNames>;

/** What a person's bases are made of (`baseNames`), as one string. */
function nameKey(p: Omit<NamingPerson, 'personId'>): string {
  return `${p.first}\u0000${p.last}\u0000${p.legalFirst}\u0000${p.employeeId}`;
}

function covers(ahead: Record<NameKind, Lookup>, wanted: Record<NameKind, Lookup>): boolean {
  return (['username', 'email'] as const).every(
    (k) =>
      [...wanted[k].prefixes].every((x) => ahead[k].prefixes.has(x)) &&
      [...wanted[k].exact].every((x) => ahead[k].exact.has(x)) &&
      ahead[k].digits >= wanted[k].digits &&
      [...wanted[k].keys].every((x) => ahead[k].keys.has(x)),
  );
}

/**
 * Choose a username and an email local part for one person (each only when its base is given): each the smallest
 * free candidate, except that when the later of the two suffixes is free for both, both use it (jane.doe2 with
 * jane.doe2@, what admins expect). Marks the choice as handed out.
 */
function choose(
  av: Availability,
  personId: string,
  bases: { username?: string; emailLocal?: string },
): { username?: string; emailLocal?: string } {
  let u = bases.username === undefined ? undefined : av.firstFree('username', bases.username, personId);
  let e = bases.emailLocal === undefined ? undefined : av.firstFree('email', bases.emailLocal, personId);
  if (u && e && u.n !== e.n) {
    const n = Math.max(u.n, e.n);
    const cu = u.n === n ? u.value : candidate('username', bases.username!, n, av.policy);
    const ce = e.n === n ? e.value : candidate('email', bases.emailLocal!, n, av.policy);
    if (cu !== null && ce !== null && av.free('username', cu, personId) && av.free('email', ce, personId)) {
      u = { n, value: cu };
      e = { n, value: ce };
    }
  }
  const out: { username?: string; emailLocal?: string } = {};
  if (u) {
    out.username = u.value;
    av.take('username', bases.username!, u);
  }
  if (e) {
    out.emailLocal = e.value;
    av.take('email', bases.emailLocal!, e);
  }
  return out;
}

async function lock(tx: Tx): Promise<void> {
  await tx.client.query('select pg_advisory_xact_lock($1)', [NAMING_LOCK]);
}

interface Reservation {
  usernames: string[];
  /** Email local parts (the policy's domain is added in SQL). */
  emailLocals: string[];
  personIds: string[];
}

function takenMeanwhile(cause?: unknown): GatehouseError {
  return new GatehouseError(NamingErrors.taken, 'Some of the names chosen were taken meanwhile; try again.', {
    status: 409,
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The indexes of `values` in the order of the registry's key (`value` is in "C" order: by code point, which is
 * UTF-16 code unit order for the ASCII names are made of).
 */
function keyOrder(values: readonly string[]): number[] {
  return values
    .map((_, i) => i)
    .sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : 0));
}

/**
 * Write registry rows. `fresh` rows were not in the registry when it was read (under the allocation lock): a plain
 * insert. `existing` rows take over a row past its embargo, or the holder's own released row; the update is
 * guarded, so a row held by someone else is never taken. Throws `naming_name_taken` when a row was taken meanwhile.
 */
async function reserve(
  tx: Tx,
  fresh: Reservation,
  existing: Reservation,
  domain: string,
  now: Date,
  writes?: WriteBehind,
): Promise<void> {
  const at = `@${domain}`;
  const send = (write: () => Promise<void>) => (writes ? writes.add(write) : write());
  if (fresh.personIds.length) {
    // Fresh names were checked free under the registry lock: loaded with COPY (a bulk import names thousands).
    await send(() =>
      copyRows(
        tx.client,
        'name_registry',
        ['kind', 'value', 'person_id', 'created_at'],
        // In primary-key order (kind, then value: "email" < "username"), so that the index is filled front to back
        // instead of at random places (a 100k-person import's names load in about half the time).
        (function* () {
          for (const i of keyOrder(fresh.emailLocals))
            yield ['email', fresh.emailLocals[i]! + at, fresh.personIds[i]!, now];
          for (const i of keyOrder(fresh.usernames))
            yield ['username', fresh.usernames[i]!, fresh.personIds[i]!, now];
        })(),
      ).catch((e: unknown) => {
        throw (e as { code?: string }).code === '23505' ? takenMeanwhile(e) : e;
      }),
    );
  }
  if (existing.personIds.length === 0) return;
  const expected = 2 * existing.personIds.length;
  await send(() =>
    tx.client
      .query(
        `insert into name_registry (kind, value, person_id, created_at)
     select n.kind, n.value, t.p, $4::timestamptz
     from unnest($1::text[], $2::text[], $3::uuid[]) as t(u, e, p)
     cross join lateral (values ('username', t.u), ('email', t.e)) as n(kind, value)
     on conflict (kind, value) do update
       set person_id = excluded.person_id,
           created_at = case when name_registry.person_id = excluded.person_id
                             then name_registry.created_at else excluded.created_at end,
           released_at = null,
           reusable_after = null
       where name_registry.person_id = excluded.person_id
          or name_registry.reusable_after <= $4::timestamptz`,
        [existing.usernames, existing.emailLocals.map((l) => l + at), existing.personIds, now],
      )
      .then((r) => {
        if (r.rowCount !== expected) throw takenMeanwhile();
      }),
  );
}

/**
 * Run `attempt` with the registry read for the first candidates only, and once more with every candidate read when a
 * base ran past them.
 */
async function withWiderReadIfNeeded<T>(attempt: (digits: number) => Promise<T>): Promise<T> {
  try {
    return await attempt(FIRST_SUFFIX_DIGITS);
  } catch (e) {
    if (!(e instanceof NeedsWiderRead)) throw e;
    return attempt(MAX_SUFFIX_DIGITS);
  }
}

/** Name each person in order, and sort the rows to write into fresh and existing ones. */
function chooseAll(
  av: Availability,
  people: readonly NamingPerson[],
  bases: readonly ReturnType<typeof baseNames>[],
): { names: Map<string, AllocatedNames>; fresh: Reservation; existing: Reservation } {
  const result = new Map<string, AllocatedNames>();
  const fresh: Reservation = { usernames: [], emailLocals: [], personIds: [] };
  const existing: Reservation = { usernames: [], emailLocals: [], personIds: [] };
  for (let i = 0; i < people.length; i++) {
    const p = people[i]!;
    const b = bases[i]!;
    const chosen = choose(av, p.personId, b);
    const names = {
      username: chosen.username!,
      workEmail: `${chosen.emailLocal!}@${av.policy.email.domain}`,
      // A name with nothing displayable (e.g. only symbols) still shows as something.
      displayName: b.displayName || chosen.username!,
    };
    result.set(p.personId, names);
    const r =
      av.known('username', chosen.username!) || av.known('email', chosen.emailLocal!) ? existing : fresh;
    // Rare: one of the two takes over a row (past its embargo, or the person's own); the upsert handles both.
    r.usernames.push(chosen.username!);
    r.emailLocals.push(chosen.emailLocal!);
    r.personIds.push(p.personId);
  }
  return { names: result, fresh, existing };
}

/**
 * Allocate a username, a work email and a display name for each person, in the caller's transaction. Names are
 * unique across everyone past and present and within the batch (two Jane Does → jane.doe, jane.doe2); reserved
 * names skip to the next candidate. People are named in the order given. A person's own released names are
 * available to them again (a rehire within the embargo gets their names back).
 *
 * With `writes`, the names are chosen and their rows sent without waiting for them to load: a name taken meanwhile
 * is then reported by `writes.done()`, and the transaction fails all the same.
 */
export async function allocateNames(
  tx: Tx,
  people: NamingPerson[],
  policy: NamingPolicy,
  now: Date,
  writes?: WriteBehind,
  ahead?: NamesRead,
): Promise<Map<string, AllocatedNames>> {
  if (people.length === 0) return new Map();
  const readAhead = ahead && ahead.policyJson === JSON.stringify(policy) ? ahead : null;
  // Bases the read-ahead made already are not made again; when it made every one, what it read covers them all.
  let allAhead = readAhead !== null;
  const bases = people.map((p) => {
    const made = readAhead?.bases.get(nameKey(p));
    if (made) return made;
    allAhead = false;
    return baseNames(p, policy);
  });
  const batch = new Set<string>();
  for (let i = 0; i < people.length; i++) {
    const id = people[i]!.personId;
    if (batch.has(id)) {
      throw new GatehouseError(NamingErrors.invalidInput, `person ${id} is listed twice`, {
        problems: [{ field: `people[${i}].personId`, message: 'listed twice', value: id }],
      });
    }
    batch.add(id);
  }
  const { names, fresh, existing } = await withWiderReadIfNeeded(async (digits) => {
    // The lookups of every base read ahead hold those of these people's (their rows of others' bases load unused).
    const keys =
      allAhead && readAhead!.lookups.username.digits === digits
        ? readAhead!.lookups
        : lookupsOf(bases, policy, digits);
    const av = new Availability(policy, digits);
    const rows =
      readAhead && (keys === readAhead.lookups || covers(readAhead.lookups, keys)) ? readAhead.rows : null;
    loadVariants(rows ?? (await readVariants(tx, keys, now, true)), keys, av, batch);
    return chooseAll(av, people, bases);
  });
  await reserve(tx, fresh, existing, policy.email.domain, now, writes);
  return names;
}

function embargoEnd(at: Date, policy: NamingPolicy): Date {
  return new Date(at.getTime() + policy.embargoDays * DAY_MS);
}

/**
 * A leaver's names: released at `at`, reusable by others after the embargo (`embargoDays`). Names already released
 * keep their embargo. Returns how many names were released.
 */
export async function releaseNames(
  tx: Tx,
  personIds: string[],
  at: Date,
  policy: NamingPolicy,
): Promise<number> {
  if (personIds.length === 0) return 0;
  const r = await tx.client.query(
    `update name_registry set released_at = $2, reusable_after = $3
     where person_id = any($1::uuid[]) and released_at is null`,
    [personIds, at, embargoEnd(at, policy)],
  );
  return r.rowCount ?? 0;
}

function emailIsCandidateOf(email: string, local: string, policy: NamingPolicy): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0 || email.slice(at + 1).toLowerCase() !== policy.email.domain) return false;
  return isCandidateOf(email.slice(0, at).toLowerCase(), local, policy.email.maxLength);
}

/**
 * The names a rename would give the person now (nothing is reserved), or null when their current names still fit
 * their name (the current username and email are the base or one of its suffixed candidates). A name whose base did
 * not change is kept.
 */
export async function previewRename(
  db: Pick<Database, 'pool'> | Tx,
  person: RenamePerson,
  policy: NamingPolicy,
  now: Date,
): Promise<AllocatedNames | null> {
  const b = baseNames(person, policy);
  const keepUsername =
    person.username !== null &&
    isCandidateOf(person.username.toLowerCase(), b.username, policy.username.maxLength);
  const keepEmail = person.workEmail !== null && emailIsCandidateOf(person.workEmail, b.emailLocal, policy);
  if (keepUsername && keepEmail) return null;
  const chosen = await withWiderReadIfNeeded(async (digits) => {
    const keys = newLookups(digits);
    if (!keepUsername) keysOf('username', b.username, policy, keys.username);
    if (!keepEmail) keysOf('email', b.emailLocal, policy, keys.email);
    const av = new Availability(policy, digits);
    loadVariants(await readVariants(db, keys, now, false), keys, av, new Set([person.personId]));
    return choose(av, person.personId, {
      ...(keepUsername ? {} : { username: b.username }),
      ...(keepEmail ? {} : { emailLocal: b.emailLocal }),
    });
  });
  return {
    username: keepUsername ? person.username! : chosen.username!,
    workEmail: keepEmail ? person.workEmail! : `${chosen.emailLocal!}@${policy.email.domain}`,
    displayName: b.displayName || (keepUsername ? person.username! : chosen.username!),
  };
}

const IDENTIFIER_RE = /^[a-z0-9._-]+$/;

function checkName(kind: NameKind, value: string, policy: NamingPolicy): void {
  const local = kind === 'email' ? value.slice(0, value.lastIndexOf('@')) : value;
  const domain = kind === 'email' ? value.slice(value.lastIndexOf('@') + 1) : '';
  const max = kind === 'email' ? policy.email.maxLength : policy.username.maxLength;
  const field = kind === 'email' ? 'workEmail' : 'username';
  const ok =
    IDENTIFIER_RE.test(local) &&
    local.length <= max &&
    !/^[._-]|[._-]$/.test(local) &&
    (kind === 'username' || (value.includes('@') && /^[a-z0-9.-]+\.[a-z0-9-]+$/.test(domain)));
  if (!ok) {
    throw new GatehouseError(
      NamingErrors.invalidName,
      `"${value}" is not a valid ${kind === 'email' ? 'email address' : 'username'} under the naming policy (letters a-z, digits, ".", "_" and "-", at most ${max} characters${kind === 'email' ? ' before the "@"' : ''})`,
      { problems: [{ field, message: 'invalid', value }] },
    );
  }
  if (isReserved(value, policy)) {
    throw new GatehouseError(NamingErrors.reserved, `"${value}" is a reserved name`, {
      status: 409,
      problems: [{ field, message: 'reserved', value }],
    });
  }
}

/**
 * Give a person new names (usually from `previewRename`): reserve the new ones and release the old ones with the
 * embargo — the old names stay reserved to the person meanwhile. Throws `naming_name_taken` when a new name is
 * held by someone else. Returns the names released.
 */
export async function renameNames(
  tx: Tx,
  personId: string,
  policy: NamingPolicy,
  now: Date,
  names: { username: string; workEmail: string },
): Promise<{ released: { kind: NameKind; value: string }[] }> {
  const username = names.username.trim().toLowerCase();
  const workEmail = names.workEmail.trim().toLowerCase();
  checkName('username', username, policy);
  checkName('email', workEmail, policy);
  await lock(tx);
  const held = await tx.client.query<{ kind: NameKind; value: string; person_id: string }>(
    `select kind, value, person_id from name_registry
     where ((kind = 'username' and value = $1) or (kind = 'email' and value = $2))
       and person_id <> $3 and not coalesce(reusable_after <= $4, false)`,
    [username, workEmail, personId, now],
  );
  if (held.rows.length) {
    throw new GatehouseError(
      NamingErrors.taken,
      `${held.rows.map((r) => `the ${r.kind} "${r.value}"`).join(' and ')} ${held.rows.length > 1 ? 'are' : 'is'} already taken`,
      {
        status: 409,
        problems: held.rows.map((r) => ({
          field: r.kind === 'email' ? 'workEmail' : 'username',
          message: 'taken',
          value: r.value,
        })),
      },
    );
  }
  const at = workEmail.lastIndexOf('@');
  await reserve(
    tx,
    { usernames: [], emailLocals: [], personIds: [] },
    { usernames: [username], emailLocals: [workEmail.slice(0, at)], personIds: [personId] },
    workEmail.slice(at + 1),
    now,
  );
  const released = await tx.client.query<{ kind: NameKind; value: string }>(
    `update name_registry set released_at = $2, reusable_after = $3
     where person_id = $1 and released_at is null
       and not ((kind = 'username' and value = $4) or (kind = 'email' and value = $5))
     returning kind, value`,
    [personId, now, embargoEnd(now, policy), username, workEmail],
  );
  return { released: released.rows.map((r) => ({ kind: r.kind, value: r.value })) };
}

/** Whether a value is taken (held, or within a leaver's embargo) at `now`. Reserved names are not consulted. */
export async function nameTaken(
  db: Pick<Database, 'db'>,
  kind: NameKind,
  value: string,
  now: Date = new Date(),
): Promise<boolean> {
  const r = await db.db.execute<{ taken: boolean }>(sql`
    select exists (
      select 1 from name_registry
      where kind = ${kind} and value = ${value.trim().toLowerCase()}
        and not coalesce(reusable_after <= ${now}, false)
    ) as taken`);
  return r.rows[0]?.taken ?? false;
}
