/**
 * The shared connector contract suite: every connector's test file runs it against that connector's real server.
 *
 * ```ts
 * contractSuite(() => ({ name: 'ldap (OpenLDAP slapd)', connect: () => ..., account: (n) => ({ ... }), ... }), 'ldap');
 * ```
 *
 * The fixture is resolved in `beforeAll` (after the calling file's own `beforeAll`, so it may read a server started
 * there); pass a plain object instead of a function and the test names also carry the declared reasons. The
 * optional title names the `describe` block ("connector contract: <title>").
 *
 * The steps run in order against one account made in `create` (later steps make their own):
 * capabilities → create → read → update → rename → groups → disable-enable → set-password → unlock → delete →
 * paging → unicode → not-found → already-exists → sync → schema.
 *
 * Rules the fixtures can rely on:
 * - Numbers passed to `account(n)` / `group(n)` start from a random base per run, so reruns against a shared
 *   server never collide. Everything created is deleted again (and `fixture.cleanup` is called) in `afterAll`,
 *   tolerating failures.
 * - `fixture.settle()` is awaited after every write, before the next read.
 * - Attribute values are compared as lists of strings (`5` and `"5"`, `"x"` and `["x"]` are equal); attribute names
 *   and object names match case-insensitively. Every value the fixture writes must read back: `get(ref)` with the
 *   connector's default attribute set must return every attribute of `account(n)`. A written multi-valued attribute
 *   may read back with extra values (LDAP `objectClass: top`); `accountUpdate.expect` is compared exactly (`null`:
 *   absent). `memberOf` holds group ids, as the interface says.
 * - The search steps filter with `eq` on an attribute of `account(n)` whose value is unique per `n` (preferring the
 *   one that appears in the object's name); with `unicode` it must be one holding non-ASCII characters.
 * - Give `password.bad` a value that is not an English word: the suite checks that no error text repeats it.
 * - A step listed in `fixture.unsupported` still runs a test: the matching capabilities must be absent from
 *   `connector.capabilities` and calling the operation must throw ConnectorError 'unsupported'. Steps with no
 *   capability of their own check instead that the target refuses cleanly: `unicode` → create throws 'unsupported'
 *   or 'schema_violation'; `not-found` / `already-exists` → every failure is still a ConnectorError.
 * - Nothing is skipped: a missing server or a failed step is a failure.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { ContractFixture, ContractStep } from './contract-types.ts';
import { isConnectorError, type ConnectorError, type ConnectorErrorCode } from './errors.ts';
import {
  Secret,
  type AttributeValue,
  type Attributes,
  type Capability,
  type Connector,
  type ConnectorObject,
  type ObjectClass,
  type ObjectRef,
  type Scalar,
  type SyncResult,
} from './types.ts';

type FixtureSource = ContractFixture | (() => ContractFixture | Promise<ContractFixture>);

interface State {
  f: ContractFixture;
  c: Connector;
  base: number;
  seq: number;
  /** Everything created and not yet deleted, by `objectClass:id`; deleted in reverse order in afterAll. */
  created: Map<string, ObjectRef>;
  /** The account made in `create`, as last read (its ref follows renames). */
  account?: ConnectorObject;
  accountAttrs?: Attributes;
  /** The number the account was made with. */
  accountN?: number;
  /** A ref that existed and was deleted: the not-found step's missing object. */
  gone?: ObjectRef;
}

interface Step {
  step: ContractStep;
  title: string;
  /** Capabilities this step needs; a declared-unsupported step must not have them. */
  caps: Capability[];
  run(s: State, ctx: TestContext): Promise<void>;
  /** What a declared-unsupported step checks instead. */
  declared(s: State, ctx: TestContext): Promise<void>;
}

/** Register the contract suite for one connector. See the file comment for what a fixture must provide. */
export function contractSuite(fixture: FixtureSource, title?: string): void {
  const known = typeof fixture === 'function' ? undefined : fixture;
  const heading = title ?? known?.name;
  describe(heading ? `connector contract: ${heading}` : 'connector contract', () => {
    let state: State | undefined;
    const s = (): State => {
      if (!state)
        throw new Error('the contract fixture did not resolve or connect (see the beforeAll error)');
      return state;
    };

    beforeAll(async () => {
      const f = typeof fixture === 'function' ? await fixture() : fixture;
      const c = await f.connect();
      state = { f, c, base: randomInt(10_000, 99_999) * 1000, seq: 0, created: new Map() };
    });

    afterAll(async () => {
      if (!state) return;
      const { c, f, created } = state;
      for (const ref of [...created.values()].reverse()) {
        await c.delete(ref).catch(() => undefined);
      }
      await f.settle?.().catch(() => undefined);
      await f.cleanup?.().catch(() => undefined);
      await c.close().catch(() => undefined);
    });

    it('capabilities: declares what it supports, and test() reaches the target', async (ctx) => {
      const { f, c } = s();
      ctx.annotate(`fixture: ${f.name}`);
      const declared = new Set(Object.keys(f.unsupported ?? {}));
      const expected = f.capabilities ?? [
        ...new Set(STEPS.filter((x) => !declared.has(x.step)).flatMap((x) => x.caps)),
      ];
      expect([...c.capabilities].sort(), 'connector.capabilities').toEqual(expect.arrayContaining(expected));
      if (c.capabilities.has('test')) {
        const result = await c.test();
        expect(result.ok).toBe(true);
        expect(typeof result.details).toBe('object');
      } else {
        await expectError(() => c.test(), 'unsupported', 'test() without the test capability');
      }
    });

    for (const step of STEPS) {
      const reason = known?.unsupported?.[step.step];
      const name = reason === undefined ? step.title : `declares ${step.step} unsupported: ${reason}`;
      it(name, async (ctx) => {
        const st = s();
        const why = st.f.unsupported?.[step.step];
        if (why === undefined) return step.run(st, ctx);
        expect(why.trim().length, `the reason given for declaring ${step.step} unsupported`).toBeGreaterThan(
          3,
        );
        if (!known) ctx.annotate(`declares ${step.step} unsupported: ${why}`);
        for (const cap of step.caps) {
          expect(
            st.c.capabilities.has(cap),
            `${step.step} is declared unsupported but capability '${cap}' is`,
          ).toBe(false);
        }
        await step.declared(st, ctx);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

const next = (s: State): number => s.base + s.seq++;
const key = (r: ObjectRef): string => `${r.objectClass}:${r.id}`;
const refOf = (o: ObjectRef): ObjectRef => ({
  objectClass: o.objectClass,
  id: o.id,
  ...(o.name === undefined ? {} : { name: o.name }),
});
const track = (s: State, o: ObjectRef): void => void s.created.set(key(o), refOf(o));
const untrack = (s: State, o: ObjectRef): void => void s.created.delete(key(o));
const settle = async (s: State): Promise<void> => {
  await s.f.settle?.();
};
const has = (s: State, cap: Capability): boolean => s.c.capabilities.has(cap);
const fakeRef = (objectClass: ObjectClass = 'account'): ObjectRef => ({
  objectClass,
  id: randomUUID(),
  name: `contract-missing-${randomUUID().slice(0, 8)}`,
});

function createOptions(s: State): { password?: Secret } {
  return has(s, 'setPassword') ? { password: new Secret(s.f.password.good) } : {};
}

async function createAccount(
  s: State,
  n: number,
  opts?: { unicode?: boolean },
): Promise<{ obj: ConnectorObject; attrs: Attributes }> {
  const attrs = s.f.account(n, opts);
  const obj = await s.c.create('account', attrs, createOptions(s));
  track(s, obj);
  await settle(s);
  return { obj, attrs };
}

function need(s: State): ConnectorObject {
  if (!s.account) throw new Error('no account to work on: the create step failed (see its error)');
  return s.account;
}

async function read(s: State, ref: ObjectRef, attributes?: readonly string[]): Promise<ConnectorObject> {
  const got = await s.c.get(ref, attributes);
  if (!got) throw new Error(`get(${ref.objectClass} ${ref.id}) returned undefined for an object that exists`);
  return got;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** All changes since `token`, following `more` (bounded, so a connector that always says "more" fails). */
async function drain(s: State, objectClass: ObjectClass, token: string): Promise<SyncResult> {
  const changes: SyncResult['changes'] = [];
  let t = token;
  for (let i = 0; i < 1000; i++) {
    const r = await s.c.sync(objectClass, t);
    expect(typeof r.token, 'sync token').toBe('string');
    changes.push(...r.changes);
    t = r.token;
    if (!r.more) return { changes, token: t };
  }
  throw new Error('sync kept answering more: true after 1000 calls');
}

/** Runs `call` and checks that it fails with a ConnectorError carrying one of `codes`; returns the error. */
export async function expectError(
  call: () => Promise<unknown>,
  codes: ConnectorErrorCode | readonly ConnectorErrorCode[],
  what: string,
): Promise<ConnectorError> {
  const want = typeof codes === 'string' ? [codes] : codes;
  let failed = false;
  let error: unknown;
  try {
    await call();
  } catch (e) {
    failed = true;
    error = e;
  }
  if (!failed) expect.fail(`${what}: expected ConnectorError ${want.join(' or ')}, but it succeeded`);
  if (!isConnectorError(error)) {
    expect.fail(`${what}: expected ConnectorError ${want.join(' or ')}, got ${String(error)}`);
  }
  expect(want, `${what}: got ${error.code} (${error.message})`).toContain(error.code);
  expect(error.message.trim().length, `${what}: the error needs a human sentence`).toBeGreaterThan(0);
  return error;
}

/** Resolves, or fails with a ConnectorError of any code: what a declared-unsupported error step still requires. */
async function connectorErrorOrValue<T>(call: () => Promise<T>, what: string): Promise<T | ConnectorError> {
  try {
    return await call();
  } catch (e) {
    if (!isConnectorError(e)) expect.fail(`${what}: failed with a non-ConnectorError: ${String(e)}`);
    return e;
  }
}

/** An attribute value as a list of strings: null/absent → [], scalar → [it]. */
export function valuesOf(v: AttributeValue | undefined): string[] {
  if (v === null || v === undefined) return [];
  return (Array.isArray(v) ? (v as readonly Scalar[]) : [v as Scalar]).map(String);
}

function lookup(attrs: Attributes, name: string): AttributeValue | undefined {
  if (name in attrs) return attrs[name];
  const k = Object.keys(attrs).find((a) => a.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : attrs[k];
}

/**
 * Checks that `actual` holds `expected`. `written` (after create): a multi-valued attribute may carry extra values.
 * `exact` (after update): the value lists match exactly, in any order.
 */
export function expectAttributes(
  actual: Attributes,
  expected: Attributes,
  what: string,
  mode: 'written' | 'exact' = 'written',
): void {
  for (const [name, value] of Object.entries(expected)) {
    const got = valuesOf(lookup(actual, name));
    const want = valuesOf(value);
    const label = `${what}: attribute ${name}`;
    if (mode === 'written' && Array.isArray(value)) expect(got, label).toEqual(expect.arrayContaining(want));
    else if (mode === 'exact') expect([...got].sort(), label).toEqual([...want].sort());
    else expect(got, label).toEqual(want);
  }
}

const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * The attribute to search an account by: a single string value that differs between `account(n)` and
 * `account(n + 1)`, preferring one contained in the object's name; with `unicode`, one holding non-ASCII text.
 */
function searchKey(s: State, n: number, attrs: Attributes, name: string, unicode: boolean): [string, string] {
  const other = s.f.account(n + 1, unicode ? { unicode } : undefined);
  const candidates = Object.entries(attrs).filter(
    (e): e is [string, string] =>
      typeof e[1] === 'string' &&
      e[1] !== '' &&
      valuesOf(other[e[0]]).join('\u0000') !== e[1] &&
      (!unicode || NON_ASCII.test(e[1])),
  );
  const inName = candidates.find(([, v]) => name.toLowerCase().includes(v.toLowerCase()));
  const pick = inName ?? candidates[0];
  if (!pick) {
    throw new Error(
      `fixture.account(n${unicode ? ', {unicode: true}' : ''}) has no string attribute unique per n` +
        (unicode ? ' holding non-ASCII text' : '') +
        ' to search by',
    );
  }
  return pick;
}

async function searchIds(s: State, attribute: string, value: string, attributes?: readonly string[]) {
  return collect(
    s.c.search({
      objectClass: 'account',
      filter: { op: 'eq', attribute, value },
      ...(attributes ? { attributes } : {}),
    }),
  );
}

/** Names compare case-insensitively (LDAP servers may normalise the case of a DN). */
function expectName(actual: string | undefined, expected: string, what: string): void {
  expect(actual?.toLowerCase(), `${what}: name`).toBe(expected.toLowerCase());
}

/** Whether any value of the group's attributes names the account (by id or name, case-insensitively). */
function mentions(group: ConnectorObject, account: ConnectorObject): boolean {
  const names = new Set([account.id.toLowerCase(), account.name.toLowerCase()]);
  return Object.values(group.attributes).some((v) => valuesOf(v).some((x) => names.has(x.toLowerCase())));
}

const unsupportedCall =
  (calls: (c: Connector, s: State) => (() => Promise<unknown>)[]) =>
  async (s: State): Promise<void> => {
    for (const [i, call] of calls(s.c, s).entries()) {
      await expectError(call, 'unsupported', `declared-unsupported call #${i + 1}`);
    }
  };

const drainSearch = (c: Connector): Promise<unknown> => collect(c.search({ objectClass: 'account' }));

// ---------------------------------------------------------------------------------------------------------------
// the steps, in order

const STEPS: Step[] = [
  {
    step: 'create',
    title: 'create: a new account comes back with an id, a name and every attribute written',
    caps: ['create'],
    async run(s) {
      const n = next(s);
      const { obj, attrs } = await createAccount(s, n);
      expect(obj.objectClass).toBe('account');
      expect(typeof obj.id).toBe('string');
      expect(obj.id.length, 'id').toBeGreaterThan(0);
      expect(obj.name.length, 'name').toBeGreaterThan(0);
      expectAttributes(obj.attributes, attrs, 'create() returned');
      if (obj.enabled !== undefined) expect(obj.enabled, 'a new account is enabled by default').toBe(true);
      s.account = obj;
      s.accountAttrs = attrs;
      s.accountN = n;
    },
    declared: unsupportedCall((c, s) => [() => c.create('account', s.f.account(next(s)))]),
  },
  {
    step: 'read',
    title: 'read: get by id (with and without the name) and search by an eq filter return the account',
    caps: ['search'],
    async run(s) {
      const acc = need(s);
      const attrs = s.accountAttrs!;
      const got = await read(s, refOf(acc));
      expect(got.id).toBe(acc.id);
      expectName(got.name, acc.name, 'get()');
      expect(got.objectClass).toBe('account');
      expectAttributes(got.attributes, attrs, 'get()');
      const byId = await read(s, { objectClass: 'account', id: acc.id });
      expectName(byId.name, acc.name, 'get() by id alone');

      const [attribute, value] = searchKey(s, s.accountN!, attrs, acc.name, false);
      const found = await searchIds(s, attribute, value, Object.keys(attrs));
      expect(
        found.map((o) => o.id),
        `search ${attribute} eq ${JSON.stringify(value)}`,
      ).toEqual([acc.id]);
      expectAttributes(found[0]!.attributes, attrs, 'search()');
      expectName(found[0]!.name, acc.name, 'search()');
    },
    declared: unsupportedCall((c) => [() => drainSearch(c)]),
  },
  {
    step: 'update',
    title: 'update: attribute deltas read back, other attributes keep their values',
    caps: ['update'],
    async run(s) {
      const acc = need(s);
      const { deltas, expect: want } = s.f.accountUpdate;
      await s.c.update(refOf(acc), deltas);
      await settle(s);
      const got = await read(s, refOf(acc));
      expectAttributes(got.attributes, want, 'after update()', 'exact');
      const touched = new Set(
        [...Object.keys(want), ...deltas.map((d) => d.attribute)].map((a) => a.toLowerCase()),
      );
      const untouched = Object.fromEntries(
        Object.entries(s.accountAttrs!).filter(([k]) => !touched.has(k.toLowerCase())),
      );
      expectAttributes(got.attributes, untouched, 'attributes the update did not touch');
      s.account = got;
    },
    declared: unsupportedCall((c, s) => [() => c.update(fakeRef(), s.f.accountUpdate.deltas)]),
  },
  {
    step: 'rename',
    title: 'rename: the id survives, the new name reads back, and a stale name still finds the account by id',
    caps: ['rename'],
    async run(s) {
      const acc = need(s);
      if (!s.f.renamed) throw new Error('rename is supported but the fixture has no renamed(current, n)');
      const newName = s.f.renamed(acc.name, next(s));
      const ref = await s.c.rename(refOf(acc), newName);
      await settle(s);
      expect(ref.id, 'rename keeps the id').toBe(acc.id);
      expect(ref.name, 'rename returns the new name').toBeDefined();
      expect(ref.name!.toLowerCase(), 'the new name').not.toBe(acc.name.toLowerCase());
      const a = ref.name!.toLowerCase();
      const b = newName.toLowerCase();
      expect(a.includes(b) || b.includes(a), `new name ${ref.name} vs requested ${newName}`).toBe(true);
      const got = await read(s, refOf(ref));
      expectName(got.name, ref.name!, 'get() after rename');
      const stale = await read(s, { objectClass: 'account', id: acc.id, name: acc.name });
      expectName(stale.name, ref.name!, 'get() with the old name falls back to the id');
      track(s, got);
      s.account = got;
    },
    declared: unsupportedCall((c) => [() => c.rename(fakeRef(), 'contract-renamed')]),
  },
  {
    step: 'groups',
    title: 'groups: create a group, add the account, read the membership back, remove it, delete the group',
    caps: ['groups'],
    async run(s) {
      const acc = need(s);
      const n = next(s);
      const gAttrs = s.f.group(n);
      const g = await s.c.create('group', gAttrs);
      track(s, g);
      await settle(s);
      expect(g.objectClass).toBe('group');
      expect(g.id.length).toBeGreaterThan(0);
      expectAttributes(g.attributes, gAttrs, 'create(group) returned');

      await s.c.addMember(refOf(g), refOf(acc));
      await settle(s);
      const accIn = await read(s, refOf(acc));
      const groupIn = await read(s, refOf(g));
      const viaGroup = mentions(groupIn, accIn);
      expect(
        accIn.memberOf !== undefined || viaGroup,
        'after addMember the membership must show on the account (memberOf) or on the group (a member attribute)',
      ).toBe(true);
      if (accIn.memberOf !== undefined) expect(accIn.memberOf, 'account memberOf').toContain(g.id);

      await s.c.removeMember(refOf(g), refOf(acc));
      await settle(s);
      const accOut = await read(s, refOf(acc));
      const groupOut = await read(s, refOf(g));
      if (accOut.memberOf !== undefined)
        expect(accOut.memberOf, 'memberOf after removal').not.toContain(g.id);
      if (viaGroup) expect(mentions(groupOut, accOut), 'group members after removal').toBe(false);

      if (has(s, 'delete')) {
        await s.c.delete(refOf(g));
        await settle(s);
        expect(await s.c.get(refOf(g)), 'get() of the deleted group').toBeUndefined();
        untrack(s, g);
      }
    },
    declared: unsupportedCall((c) => [
      () => c.addMember(fakeRef('group'), fakeRef()),
      () => c.removeMember(fakeRef('group'), fakeRef()),
    ]),
  },
  {
    step: 'disable-enable',
    title: 'disable-enable: disable() reads back enabled=false, enable() enabled=true',
    caps: ['disable', 'enable'],
    async run(s) {
      const ref = refOf(need(s));
      await s.c.disable(ref);
      await settle(s);
      expect((await read(s, ref)).enabled, 'enabled after disable()').toBe(false);
      await s.c.enable(ref);
      await settle(s);
      expect((await read(s, ref)).enabled, 'enabled after enable()').toBe(true);
    },
    declared: unsupportedCall((c) => [() => c.disable(fakeRef()), () => c.enable(fakeRef())]),
  },
  {
    step: 'set-password',
    title: 'set-password: the good password is set; a password the policy refuses is policy_violation',
    caps: ['setPassword'],
    async run(s, ctx) {
      const ref = refOf(need(s));
      const { good, bad } = s.f.password;
      await s.c.setPassword(ref, new Secret(good));
      await settle(s);
      if (s.f.checkPassword) {
        expect(await s.f.checkPassword(ref, good), 'the good password works').toBe(true);
        expect(await s.f.checkPassword(ref, `${good}-not-it`), 'another password does not').toBe(false);
      } else {
        ctx.annotate('no fixture.checkPassword: the password itself was not verified on the target');
        expect((await read(s, ref)).id).toBe(ref.id);
      }
      if (bad !== undefined) {
        const e = await expectError(
          () => s.c.setPassword(ref, new Secret(bad)),
          'policy_violation',
          'the bad password',
        );
        expect(e.message, 'the error must not repeat the password').not.toContain(bad);
        expect(e.targetMessage ?? '', 'the target message must not repeat the password').not.toContain(bad);
        if (s.f.checkPassword) {
          expect(await s.f.checkPassword(ref, good), 'a refused password leaves the old one').toBe(true);
        }
      }
    },
    declared: unsupportedCall((c, s) => [() => c.setPassword(fakeRef(), new Secret(s.f.password.good))]),
  },
  {
    step: 'unlock',
    title: 'unlock: a locked-out account reads back unlocked',
    caps: ['unlock'],
    async run(s, ctx) {
      const ref = refOf(need(s));
      if (s.f.lock) {
        await s.f.lock(ref);
        await settle(s);
        expect((await read(s, ref)).locked, 'locked after fixture.lock()').toBe(true);
      } else {
        ctx.annotate('no fixture.lock: unlock was checked on an account that was not locked');
      }
      await s.c.unlock(ref);
      await settle(s);
      const got = await read(s, ref);
      expect(got.id).toBe(ref.id);
      expect(got.locked ?? false, 'locked after unlock()').toBe(false);
    },
    declared: unsupportedCall((c) => [() => c.unlock(fakeRef())]),
  },
  {
    step: 'delete',
    title: 'delete: the account is gone for get() and search()',
    caps: ['delete'],
    async run(s) {
      const acc = need(s);
      await s.c.delete(refOf(acc));
      await settle(s);
      untrack(s, acc);
      s.gone = refOf(acc);
      expect(await s.c.get(refOf(acc)), 'get() after delete()').toBeUndefined();
      const [attribute, value] = searchKey(s, s.accountN!, s.accountAttrs!, acc.name, false);
      const left = (await searchIds(s, attribute, String(lookup(acc.attributes, attribute) ?? value))).filter(
        (o) => o.id === acc.id,
      );
      expect(left, 'search() after delete()').toEqual([]);
    },
    declared: unsupportedCall((c) => [() => c.delete(fakeRef())]),
  },
  {
    step: 'paging',
    title: 'paging: more than two pages of accounts, each returned exactly once',
    caps: ['search'],
    async run(s) {
      const count = 2 * s.f.pageSize + 1;
      const mine: ConnectorObject[] = [];
      for (let i = 0; i < count; i++) mine.push((await createAccount(s, next(s))).obj);
      const seen = new Map<string, number>();
      for await (const o of s.c.search({ objectClass: 'account', pageSize: s.f.pageSize })) {
        seen.set(o.id, (seen.get(o.id) ?? 0) + 1);
      }
      const twice = [...seen].filter(([, k]) => k > 1).map(([id]) => id);
      expect(twice, 'ids returned more than once').toEqual([]);
      expect(
        mine.filter((o) => !seen.has(o.id)).map((o) => o.name),
        `accounts missing from a search with pageSize ${s.f.pageSize}`,
      ).toEqual([]);
      if (has(s, 'delete')) {
        for (const o of mine) {
          await s.c.delete(refOf(o));
          untrack(s, o);
        }
        await settle(s);
      }
    },
    declared: unsupportedCall((c) => [() => drainSearch(c)]),
  },
  {
    step: 'unicode',
    title: 'unicode: non-ASCII values read back identical and can be searched for',
    caps: [],
    async run(s) {
      const n = next(s);
      const { obj, attrs } = await createAccount(s, n, { unicode: true });
      if (!Object.values(attrs).some((v) => valuesOf(v).some((x) => NON_ASCII.test(x)))) {
        throw new Error('fixture.account(n, {unicode: true}) returned no non-ASCII value');
      }
      const got = await read(s, refOf(obj));
      expectAttributes(got.attributes, attrs, 'get() of the unicode account');
      const [attribute, value] = searchKey(s, n, attrs, obj.name, true);
      const found = await searchIds(s, attribute, value);
      expect(
        found.map((o) => o.id),
        `search ${attribute} eq ${JSON.stringify(value)}`,
      ).toEqual([obj.id]);
      expectName(found[0]!.name, got.name, 'search() of the unicode account');
    },
    async declared(s) {
      const p = () =>
        s.c.create('account', s.f.account(next(s), { unicode: true }), createOptions(s)).then((o) => {
          track(s, o);
          return o;
        });
      await expectError(p, ['unsupported', 'schema_violation'], 'creating an account with non-ASCII values');
    },
  },
  {
    step: 'not-found',
    title: 'not-found: get() is undefined; update, delete, disable, setPassword, addMember are not_found',
    caps: [],
    async run(s) {
      const gone = s.gone ?? fakeRef();
      expect(await s.c.get(gone), 'get() of a missing account').toBeUndefined();
      await expectError(
        () => s.c.update(gone, s.f.accountUpdate.deltas),
        'not_found',
        'update() of a missing account',
      );
      if (has(s, 'delete'))
        await expectError(() => s.c.delete(gone), 'not_found', 'delete() of a missing account');
      if (has(s, 'disable'))
        await expectError(() => s.c.disable(gone), 'not_found', 'disable() of a missing account');
      if (has(s, 'setPassword')) {
        const p = () => s.c.setPassword(gone, new Secret(s.f.password.good));
        await expectError(p, 'not_found', 'setPassword() of a missing account');
      }
      if (has(s, 'groups')) {
        const g = await s.c.create('group', s.f.group(next(s)));
        track(s, g);
        await settle(s);
        await expectError(
          () => s.c.addMember(refOf(g), gone),
          'not_found',
          'addMember() of a missing account',
        );
      }
    },
    async declared(s) {
      const gone = s.gone ?? fakeRef();
      const got = await connectorErrorOrValue(() => s.c.get(gone), 'get() of a missing account');
      if (got !== undefined && !isConnectorError(got)) expect(got.id).toBe(gone.id);
      await connectorErrorOrValue(
        () => s.c.update(gone, s.f.accountUpdate.deltas),
        'update() of a missing account',
      );
    },
  },
  {
    step: 'already-exists',
    title: 'already-exists: creating the same account twice is already_exists and leaves the first intact',
    caps: [],
    async run(s) {
      const n = next(s);
      const { obj, attrs } = await createAccount(s, n);
      const again = () =>
        s.c.create('account', attrs, createOptions(s)).then((o) => {
          track(s, o);
          return o;
        });
      await expectError(again, 'already_exists', 'creating the same account again');
      const got = await read(s, refOf(obj));
      expectName(got.name, obj.name, 'the first account');
      expectAttributes(got.attributes, attrs, 'the first account after the refused duplicate');
    },
    async declared(s) {
      const attrs = s.f.account(next(s));
      for (let i = 0; i < 2; i++) {
        const r = await connectorErrorOrValue(
          () => s.c.create('account', attrs, createOptions(s)),
          `creating the same account (#${i + 1})`,
        );
        if (!isConnectorError(r)) track(s, r);
      }
    },
  },
  {
    step: 'sync',
    title: 'sync: null gives the current position; an outside change is an upsert; tokens resume',
    caps: ['sync'],
    async run(s) {
      const { obj } = await createAccount(s, next(s));
      const start = await s.c.sync('account', null);
      expect(start.changes, 'sync(null) returns no changes, only the position').toEqual([]);
      expect(start.token.length, 'sync(null) token').toBeGreaterThan(0);

      const upserts = (r: SyncResult) =>
        r.changes.filter((ch) => ch.object.id === obj.id).map((ch) => ch.type);
      await s.f.outsideChange(refOf(obj));
      await settle(s);
      const first = await drain(s, 'account', start.token);
      expect(upserts(first), 'changes for the account changed outside').toContain('upsert');
      const change = first.changes.findLast((ch) => ch.object.id === obj.id)!;
      expect(change.type).toBe('upsert');
      expectName((change.object as ConnectorObject).name, obj.name, 'an upsert carries the object');
      expect(typeof (change.object as ConnectorObject).attributes).toBe('object');

      const quiet = await drain(s, 'account', first.token);
      expect(upserts(quiet), 'resuming from the token does not repeat the change').toEqual([]);

      await s.f.outsideChange(refOf(obj));
      await settle(s);
      const second = await drain(s, 'account', quiet.token);
      expect(upserts(second), 'a later outside change after resuming').toContain('upsert');
    },
    declared: unsupportedCall((c) => [() => c.sync('account', null)]),
  },
  {
    step: 'schema',
    title: 'schema: account (and group) object classes with their attributes, and entitlement types',
    caps: ['schema'],
    async run(s) {
      const schema = await s.c.schema();
      const classes = new Map(schema.objectClasses.map((o) => [o.name, o]));
      expect([...classes.keys()]).toContain('account');
      const account = classes.get('account')!;
      expect(account.nativeName.length).toBeGreaterThan(0);
      const attrNames = account.attributes.map((a) => a.name.toLowerCase());
      expect(new Set(attrNames).size, 'attribute names are unique').toBe(attrNames.length);
      const written = Object.keys(s.f.account(next(s))).filter((a) => a.toLowerCase() !== 'objectclass');
      expect(attrNames, 'the schema describes every attribute the fixture writes').toEqual(
        expect.arrayContaining(written.map((a) => a.toLowerCase())),
      );
      const types = ['string', 'integer', 'boolean', 'datetime', 'binary', 'reference'];
      for (const c of schema.objectClasses) {
        for (const a of c.attributes) expect(types, `${c.name}.${a.name} type`).toContain(a.type);
      }
      if (has(s, 'groups')) {
        expect([...classes.keys()]).toContain('group');
        expect(schema.entitlementTypes.length, 'entitlement types').toBeGreaterThan(0);
      }
      for (const e of schema.entitlementTypes) {
        expect([...classes.keys()], `entitlement type ${e.name}`).toContain(e.objectClass);
      }
    },
    declared: unsupportedCall((c) => [() => c.schema()]),
  },
];
