/**
 * ad-joiners: joiners into a real Samba AD DC (the shared test DC, src/testing/samba.ts) through the Active
 * Directory connector, against a bare LDAP loop doing the same directory work in the same run.
 *
 * A joiner is one new user with an initial password and four group memberships:
 *
 *   connector  `create('account', …, { password })` (one LDAP add with unicodePwd and userAccountControl, then the
 *              read-back the interface returns) and four `addMember(group, user)`; concurrent adds to the same
 *              group are merged into one modify by the connector (coalesce.ts);
 *   bare       plain ldapts on one LDAPS connection: the same add (same attributes, unicodePwd, userAccountControl)
 *              and four modifies adding the user's DN to each group — one modify per membership, no read-back;
 *   floor      bare adds with a password and nothing else, on a smaller sample: what the DC can do at best for
 *              users with a password, whoever the client is.
 *
 * Both main methods run JOINERS_IN_FLIGHT joiners at a time over one connection each, on their own four groups so
 * that group sizes grow alike, in PARTS interleaved slices (floor too) so that the directory's growth and other
 * work on the machine affect all methods alike. The DC's CPU time (all processes of its process group, from /proc)
 * is recorded per method: Samba runs every write in one global transaction, so DC CPU per joiner is what bounds
 * throughput.
 *
 * Checks afterwards: every user exists once, every group has N (+ warm-up) members, a sample of users signs in with
 * its password, and the last joiner of each method has memberOf of exactly four groups.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Attribute, Change, Client, Control } from 'ldapts';
import { systemClock } from '../src/kit/clock.ts';
import { createLogger } from '../src/kit/log.ts';
import { Secret, type ObjectRef } from '../src/connectors/kit/types.ts';
import {
  ActiveDirectoryConnector,
  adConfigSchema,
  unicodePwd,
  UAC,
} from '../src/connectors/active-directory/index.ts';
import { escapeDnValue, escapeFilterValue } from '../src/connectors/ldap/escape.ts';
import { adminClient, releaseSambaDc, sambaDc, sambaMissing } from '../src/testing/samba.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_JOINERS = 1000;
const JOINERS_IN_FLIGHT = 8;
const GROUPS_PER_JOINER = 4;
const WARM_UP = 8;
/** Interleaved slices per method: other work on the machine then skews both methods alike. */
const PARTS = 10;
const SIGN_IN_SAMPLE = 20;
const TARGET = 40;
const TREE_DELETE_OID = '1.2.840.113556.1.4.805';

const FIRST = ['Anna', 'Chloé', 'Émile', 'Grzegorz', 'Júlia', 'Kenji', 'Nguyễn', 'Søren', 'Tomás', 'Zoë'];
const LAST = ['Müller', 'García', 'Nowak', 'Ångström', "O'Brien", 'van der Berg', 'Łukasiewicz', 'Tanaka'];

interface Joiner {
  sam: string;
  attributes: Record<string, string>;
  password: string;
}

function joiners(prefix: string, from: number, count: number): Joiner[] {
  const out: Joiner[] = [];
  for (let i = from; i < from + count; i++) {
    const given = FIRST[i % FIRST.length]!;
    const sn = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
    const sam = `${prefix}${i}`;
    out.push({
      sam,
      attributes: {
        sAMAccountName: sam,
        givenName: given,
        sn,
        displayName: `${given} ${sn} (${sam})`,
        mail: `${sam}@corp.example.test`,
        title: 'New joiner',
        department: 'Engineering',
      },
      password: `Gh-${i}-Joiner-${prefix}!x`,
    });
  }
  return out;
}

/** Run `work` over `items` with at most `width` in flight. */
async function inFlight<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** CPU seconds used so far by every process in process group `pgid` (the DC), from /proc. */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return ticks / 100; // USER_HZ
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export default async function run(opts: BenchOptions): Promise<BenchResult> {
  const missing = sambaMissing();
  if (missing) throw new Error(missing);
  const n = opts.rows ?? DEFAULT_JOINERS;
  const floorN = Math.max(20, Math.min(250, Math.round(n / 4)));
  opts.log('starting the Samba AD DC (or reusing the running one)');
  const dc = await sambaDc({ owner: process.pid });
  const raw = await adminClient(dc);
  const tag = randomBytes(2).toString('hex');
  const root = `OU=bench-joiners-${tag},${dc.baseDn}`;
  const ous = {
    root,
    connector: `OU=Connector,${root}`,
    bare: `OU=Bare,${root}`,
    floor: `OU=Floor,${root}`,
    groups: `OU=Groups,${root}`,
  };
  const connector = new ActiveDirectoryConnector(
    adConfigSchema.parse({
      url: dc.url,
      bindDn: dc.adminUpn,
      bindPassword: dc.adminPassword,
      baseDn: dc.baseDn,
      usersDn: ous.connector,
      groupsDn: ous.groups,
      upnSuffix: dc.upnSuffix,
      tls: { ca: dc.ca },
    }),
    { log: createLogger({ level: 'warn', name: 'bench' }), clock: systemClock },
  );
  const bare = new Client({ url: dc.url, tlsOptions: { ca: dc.ca }, timeout: 300_000 });
  await bare.bind(dc.adminUpn, dc.adminPassword);
  try {
    for (const ou of Object.values(ous)) await raw.add(ou, { objectClass: ['top', 'organizationalUnit'] });
    const groupRefs: ObjectRef[] = [];
    const bareGroups: string[] = [];
    for (let g = 0; g < GROUPS_PER_JOINER; g++) {
      const created = await connector.create('group', { cn: `jc${tag}g${g}` });
      groupRefs.push({ objectClass: 'group', id: created.id, name: created.name });
      const dn = `CN=jb${tag}g${g},${ous.groups}`;
      await bare.add(dn, { objectClass: ['top', 'group'], sAMAccountName: `jb${tag}g${g}` });
      bareGroups.push(dn);
    }

    const bareAdd = (j: Joiner, ou: string): Promise<string> => {
      const dn = `CN=${escapeDnValue(j.attributes.displayName!)},${ou}`;
      return bare
        .add(dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          cn: j.attributes.displayName!,
          ...j.attributes,
          userPrincipalName: `${j.sam}@${dc.upnSuffix}`,
          userAccountControl: String(UAC.NORMAL_ACCOUNT),
          unicodePwd: unicodePwd(j.password) as unknown as string,
        })
        .then(() => dn);
    };
    const methods = {
      connector: async (j: Joiner) => {
        const user = await connector.create('account', j.attributes, { password: new Secret(j.password) });
        const ref: ObjectRef = { objectClass: 'account', id: user.id, name: user.name };
        await Promise.all(groupRefs.map((g) => connector.addMember(g, ref)));
      },
      bare: async (j: Joiner) => {
        const dn = await bareAdd(j, ous.bare);
        await Promise.all(
          bareGroups.map((g) =>
            bare.modify(
              g,
              new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
            ),
          ),
        );
      },
      floor: async (j: Joiner) => void (await bareAdd(j, ous.floor)),
    };

    // Untimed warm-up: connections, the connector's schema read, the DC's caches.
    await inFlight(joiners(`jw${tag}c`, 0, WARM_UP), JOINERS_IN_FLIGHT, methods.connector);
    await inFlight(joiners(`jw${tag}b`, 0, WARM_UP), JOINERS_IN_FLIGHT, methods.bare);

    const spent = {
      connector: { s: [] as number[], cpu: 0 },
      bare: { s: [] as number[], cpu: 0 },
      floor: { s: [] as number[], cpu: 0 },
    };
    const all = {
      connector: joiners(`jc${tag}`, 0, n),
      bare: joiners(`jb${tag}`, 0, n),
      floor: joiners(`jf${tag}`, 0, floorN),
    };
    const timed = async (method: keyof typeof methods, slice: Joiner[]) => {
      const cpu0 = groupCpuSeconds(dc.pid);
      const t0 = performance.now();
      await inFlight(slice, JOINERS_IN_FLIGHT, methods[method]);
      const s = (performance.now() - t0) / 1000;
      spent[method].s.push(s);
      spent[method].cpu += groupCpuSeconds(dc.pid) - cpu0;
      opts.log(
        `${method}: ${slice.length} in ${s.toFixed(1)} s (${(slice.length / s).toFixed(1)}/s, load ${loadavg()[0]!.toFixed(1)})`,
      );
    };
    const sizes = {
      bare: Math.ceil(n / PARTS),
      connector: Math.ceil(n / PARTS),
      floor: Math.ceil(floorN / PARTS),
    };
    const orders = [
      ['bare', 'connector', 'floor'],
      ['connector', 'floor', 'bare'],
      ['floor', 'bare', 'connector'],
    ] as const;
    for (let part = 0; part < PARTS; part++) {
      for (const method of orders[part % orders.length]!) {
        const slice = all[method].slice(part * sizes[method], (part + 1) * sizes[method]);
        if (slice.length) await timed(method, slice);
      }
    }

    // Checks: counts, memberships, passwords.
    const count = async (base: string, filter: string) =>
      (await raw.search(base, { filter, attributes: ['1.1'], paged: { pageSize: 1000 } })).searchEntries
        .length;
    for (const [method, base, want] of [
      ['connector', ous.connector, n],
      ['bare', ous.bare, n],
      ['floor', ous.floor, floorN],
    ] as const) {
      const users = await count(base, `(&(objectCategory=person)(sAMAccountName=j${method[0]}${tag}*))`);
      if (users !== want) throw new Error(`${method}: expected ${want} users, found ${users}`);
    }
    for (const dn of [...groupRefs.map((g) => g.name!), ...bareGroups]) {
      const size = await count(root, `(memberOf=${escapeFilterValue(dn)})`);
      if (size !== n + WARM_UP)
        throw new Error(`group ${dn}: expected ${n + WARM_UP} members, found ${size}`);
    }
    for (const method of ['connector', 'bare'] as const) {
      for (let k = 0; k < SIGN_IN_SAMPLE; k++) {
        const j = all[method][Math.floor((k * n) / SIGN_IN_SAMPLE)]!;
        await connector.authenticate(`${j.sam}@${dc.upnSuffix}`, new Secret(j.password));
      }
      const j = all[method][n - 1]!;
      const dn = `CN=${escapeDnValue(j.attributes.displayName!)},${ous[method]}`;
      const u = await connector.get({ objectClass: 'account', id: '', name: dn });
      if (u?.memberOf?.length !== GROUPS_PER_JOINER)
        throw new Error(
          `${method}: the last joiner is in ${u?.memberOf?.length ?? 0} groups, not ${GROUPS_PER_JOINER}`,
        );
    }

    const fig = (rows: number, m: keyof typeof spent, ops: number): MethodFigures => {
      const total = spent[m].s.reduce((a, b) => a + b, 0);
      return {
        rows,
        seconds: round(total),
        rowsPerSecond: round(rows / total, 1),
        secondsPerSlice: spent[m].s.map((x) => round(x, 2)),
        dcCpuMsPerJoiner: round((spent[m].cpu * 1000) / rows, 1),
        ldapWritesPerJoiner: ops,
      };
    };
    const merged = connector.membershipWrites();
    const connectorFig = {
      ...fig(n, 'connector', 1 + GROUPS_PER_JOINER),
      memberModifiesPerMembership: round(merged.writes / merged.requests),
    };
    const bareFig = fig(n, 'bare', 1 + GROUPS_PER_JOINER);
    const floorFig = fig(floorN, 'floor', 1);
    const version = (await raw.search('', { scope: 'base', attributes: ['vendorVersion'] })).searchEntries[0]
      ?.vendorVersion;
    return {
      figures: {
        connector: connectorFig,
        floor: floorFig,
        target: TARGET,
        joinersInFlight: JOINERS_IN_FLIGHT,
        groupsPerJoiner: GROUPS_PER_JOINER,
        samba: typeof version === 'string' ? version : null,
      },
      baseline: {
        name: 'bare',
        description:
          'plain ldapts on one LDAPS connection: the same add (attributes, unicodePwd, userAccountControl) and one member modify per membership, same concurrency, no read-back',
        figures: { bare: bareFig },
      },
      ratios: {
        connectorVsBare: round(connectorFig.rowsPerSecond / bareFig.rowsPerSecond),
        connectorVsTarget: round(connectorFig.rowsPerSecond / TARGET),
        connectorVsPasswordAddFloor: round(connectorFig.rowsPerSecond / floorFig.rowsPerSecond),
      },
      notes: [
        `${n} joiners per method, each a user with an initial password (unicodePwd over LDAPS) and ${GROUPS_PER_JOINER} group memberships; ${JOINERS_IN_FLIGHT} joiners in flight over one connection per method.`,
        `Methods run in ${PARTS} interleaved slices each (bare, connector, floor; connector, floor, bare; …) on separate OUs and groups after an untimed warm-up of ${WARM_UP} joiners each; seconds is the sum of the slices. A joiner's four memberships are sent concurrently in both methods. floor: ${floorN} password adds with no memberships.`,
        'The connector does one more request per joiner than bare (the read-back create() returns) but merges concurrent member adds to the same group into one modify; bare sends one modify per membership, which costs the DC more as groups grow.',
        'dcCpuMsPerJoiner is the CPU time of all the DC processes during the method divided by the joiners. Samba runs each write in one global transaction (more connections do not add throughput) and hashes every new password into Kerberos AES keys (PBKDF2-HMAC-SHA1, 4096 iterations, Heimdal hcrypto): that hashing is the floor, and it bounds any client on this machine.',
        `Checked afterwards: user counts per method, every group with ${n + WARM_UP} members, ${SIGN_IN_SAMPLE} sampled users per method sign in with their password, and the last joiner of each method has memberOf of ${GROUPS_PER_JOINER} groups.`,
        'The DC is the test DC on the same machine as the client: Samba with default durability, server services = ldap only, domain functional level 2008 R2 (the provisioning default).',
      ],
    };
  } finally {
    await connector.close().catch(() => undefined);
    await bare.unbind().catch(() => undefined);
    // Stopping the DC discards its domain; only when another run still uses it is the tree deleted (slowly: Samba
    // turns every object into a tombstone in one transaction).
    if (!(await releaseSambaDc(process.pid))) {
      opts.log('the DC is shared with another run: deleting the bench OU');
      await raw
        .del(root, new Control(TREE_DELETE_OID))
        .catch((e: unknown) => opts.log(`cleanup failed: ${String(e)}`));
    }
    await raw.unbind().catch(() => undefined);
  }
}
