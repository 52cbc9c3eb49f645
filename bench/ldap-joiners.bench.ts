/**
 * ldap-joiners: N joiner accounts (default 10,000) into a real OpenLDAP slapd, each with 2 group memberships, through
 * the LDAP connector — against a bare `ldapadd` of the equivalent LDIF (the same entries, the same memberships as one
 * modify each), measured in the same run on identical fresh servers.
 *
 *   connector        for each joiner: create (one add; the post-read control returns the new entry) then addMember
 *                    twice (each: the modify of the group, merged with concurrent ones for the same group; the DNs
 *                    come from the add's post-read and from a search by entryUUID once the group's DN is older
 *                    than the connector's recentDnMs); CONCURRENCY joiners in flight over one LDAP connection;
 *   ldapadd          `ldapmodify -a -f joiners.ldif`: N add records then 2N `changetype: modify / add: member`
 *                    records, one connection, one operation at a time (what a hand-written LDIF import does);
 *   ldapaddBulkMembers  the same adds, then one modify per group adding all its members at once: what a bulk loader
 *                    that knows every membership up front can do (a floor, not a like-for-like comparison).
 *
 * Every method starts from a fresh slapd (same configuration as the tests: mdb, memberof + refint + ppolicy
 * overlays, `sortvals member`; `dbnosync` unless LDAP_BENCH_DURABLE=1) with the groups already there, binds as the same manager
 * account (ACLs and ppolicy apply), and is checked afterwards: every account exists, every group holds its members
 * and every account's memberOf names its 2 groups. Methods run in two interleaved rounds; each reports its fastest.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSlapd, type Slapd } from '../src/testing/slapd.ts';
import { LdapConnector, ldapConnector } from '../src/connectors/ldap/index.ts';
import { values } from '../src/connectors/ldap/client.ts';
import { rdn } from '../src/connectors/ldap/escape.ts';
import type { ConnectorObject } from '../src/connectors/kit/types.ts';
import { systemClock } from '../src/kit/clock.ts';
import { silentLogger } from '../src/kit/log.ts';
import type { BenchOptions, BenchResult, MethodFigures } from './types.ts';

const DEFAULT_ROWS = 10_000;
const GROUPS = 20;
const CONCURRENCY = 32;
const ROUNDS = 2;
const DURABLE = process.env.LDAP_BENCH_DURABLE === '1';

const FIRST = ['Anna', 'Chloé', 'Émile', 'Fatima', 'Grzegorz', 'Hana', 'Júlia', 'Kenji', 'Nguyễn', 'Søren'];
const LAST = [
  'Smith',
  'Müller',
  'García',
  'Nowak',
  "O'Brien",
  'Ångström',
  'van der Berg',
  'Łukasiewicz',
  'Zhang',
  'Novák',
];

interface Joiner {
  uid: string;
  attrs: Record<string, string>;
  groups: [number, number];
}

function joiners(n: number): Joiner[] {
  const out: Joiner[] = [];
  for (let i = 0; i < n; i++) {
    const given = FIRST[i % FIRST.length]!;
    const sn = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
    const uid = `j${String(i).padStart(6, '0')}`;
    const g1 = i % GROUPS;
    const g2 = (g1 + 1 + (Math.floor(i / GROUPS) % (GROUPS - 1))) % GROUPS;
    out.push({
      uid,
      attrs: {
        uid,
        cn: `${given} ${sn} ${i}`,
        sn,
        givenName: given,
        displayName: `${given} ${sn}`,
        mail: `${uid}@example.test`,
        employeeNumber: String(100000 + i),
        title: i % 3 === 0 ? 'Engineer, "Senior"' : 'Analyst',
      },
      groups: [g1, g2],
    });
  }
  return out;
}

const groupCn = (g: number) => `bench group ${g}`;

function ldifValue(name: string, v: string): string {
  if (v === '') return `${name}:`;
  // LDIF: base64 anything that is not plain printable ASCII (RFC 2849 SAFE-STRING).
  return /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(v) && !v.endsWith(' ')
    ? `${name}: ${v}`
    : `${name}:: ${Buffer.from(v, 'utf8').toString('base64')}`;
}

function addRecord(dn: string, attrs: Record<string, string | string[]>): string {
  const lines = [ldifValue('dn', dn)];
  for (const [k, v] of Object.entries(attrs))
    for (const x of Array.isArray(v) ? v : [v]) lines.push(ldifValue(k, x));
  return lines.join('\n') + '\n';
}

function memberRecord(groupDn: string, members: string[]): string {
  return [
    ldifValue('dn', groupDn),
    'changetype: modify',
    'add: member',
    ...members.map((m) => ldifValue('member', m)),
    '-',
    '',
  ].join('\n');
}

async function freshServer(): Promise<{ slapd: Slapd; groupDns: string[] }> {
  const slapd = await startSlapd({ durable: DURABLE });
  const groupDns = Array.from({ length: GROUPS }, (_, g) => `${rdn('cn', groupCn(g))},${slapd.groupsDn}`);
  await slapd.apply(
    groupDns
      .map((dn, g) => addRecord(dn, { objectClass: 'groupOfNames', cn: groupCn(g), member: '' }))
      .join('\n'),
    { add: true, as: 'manager' },
  );
  return { slapd, groupDns };
}

/** Every account exists and every membership shows on both sides. */
async function verify(slapd: Slapd, people: Joiner[], groupDns: string[]): Promise<void> {
  const c = slapd.client();
  try {
    const accounts = await c.searchAll(slapd.usersDn, {
      scope: 'one',
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'memberOf'],
    });
    if (accounts.length !== people.length)
      throw new Error(`expected ${people.length} accounts, found ${accounts.length}`);
    const wrong = accounts.filter((a) => values(a, 'memberOf').length !== 2);
    if (wrong.length)
      throw new Error(
        `${wrong.length} accounts do not have exactly 2 memberOf values (e.g. ${wrong[0]!.dn})`,
      );
    let members = 0;
    for (const g of groupDns)
      members += values((await c.read(g, ['member']))!, 'member').filter((m) => m !== '').length;
    if (members !== 2 * people.length)
      throw new Error(`expected ${2 * people.length} member values, found ${members}`);
  } finally {
    await c.close();
  }
}

function figures(
  rows: number,
  seconds: number,
  extra: Record<string, number | number[] | string> = {},
): MethodFigures {
  return {
    rows,
    seconds: Math.round(seconds * 1000) / 1000,
    rowsPerSecond: Math.round(rows / seconds),
    ...extra,
  };
}

interface Round {
  seconds: number;
  /** slapd CPU seconds (user + system) during the timed part. */
  serverCpu: number;
  /** This process's CPU seconds during the timed part (the connector, ldapts); 0 for ldapadd (another process). */
  clientCpu: number;
  /** Connector only: membership modifies sent (concurrent adds to one group are merged into one). */
  membershipModifies?: number;
  /** Connector only: searches sent (identity checks by entryUUID for member writes). */
  searches?: number;
}

async function viaConnector(people: Joiner[], log: (s: string) => void): Promise<Round> {
  const { slapd, groupDns } = await freshServer();
  try {
    const cfg = ldapConnector.configSchema.parse(slapd.connectorConfig());
    const c = new LdapConnector(cfg, { log: silentLogger, clock: systemClock });
    const groups: ConnectorObject[] = [];
    for (const dn of groupDns) {
      const [e] = await c.client.searchAll(dn, { scope: 'base', attributes: ['entryUUID'] });
      groups.push({ objectClass: 'group', id: values(e!, 'entryUUID')[0]!, name: dn, attributes: {} });
    }
    await c.test();
    let searches = 0;
    const search = c.client.search.bind(c.client);
    c.client.search = (base, opts) => {
      searches++;
      return search(base, opts);
    };
    let next = 0;
    const cpu0 = slapd.cpuSeconds() ?? 0;
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < people.length; i = next++) {
          const p = people[i]!;
          const acc = await c.create('account', p.attrs);
          await c.addMember(groups[p.groups[0]]!, acc);
          await c.addMember(groups[p.groups[1]]!, acc);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = (slapd.cpuSeconds() ?? 0) - cpu0;
    const used = process.cpuUsage(client0);
    const membershipModifies = c.membershipWrites().writes;
    await c.close();
    await verify(slapd, people, groupDns);
    log(
      `connector: ${people.length} joiners in ${seconds.toFixed(2)} s (slapd ${serverCpu.toFixed(2)} s CPU, ${searches} searches)`,
    );
    return { seconds, serverCpu, clientCpu: (used.user + used.system) / 1e6, membershipModifies, searches };
  } finally {
    await slapd.stop();
  }
}

async function viaLdapadd(people: Joiner[], bulk: boolean, log: (s: string) => void): Promise<Round> {
  const { slapd, groupDns } = await freshServer();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ldif-'));
  try {
    const dnOf = (p: Joiner) => `${rdn('uid', p.uid)},${slapd.usersDn}`;
    const parts = people.map((p) => addRecord(dnOf(p), { objectClass: 'inetOrgPerson', ...p.attrs }));
    if (bulk) {
      for (const [g, dn] of groupDns.entries())
        parts.push(memberRecord(dn, people.filter((p) => p.groups.includes(g)).map(dnOf)));
    } else {
      for (const p of people) for (const g of p.groups) parts.push(memberRecord(groupDns[g]!, [dnOf(p)]));
    }
    const file = join(dir, 'joiners.ldif');
    writeFileSync(file, parts.join('\n'));
    const cpu0 = slapd.cpuSeconds() ?? 0;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        '/usr/bin/ldapmodify',
        ['-a', '-x', '-H', slapd.url, '-D', slapd.bindDn, '-w', slapd.bindPassword, '-f', file],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('exit', (c) =>
        c === 0 ? resolve() : reject(new Error(`ldapmodify exited ${c}: ${err.slice(-2000)}`)),
      );
    });
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = (slapd.cpuSeconds() ?? 0) - cpu0;
    await verify(slapd, people, groupDns);
    log(`${bulk ? 'ldapaddBulkMembers' : 'ldapadd'}: ${people.length} joiners in ${seconds.toFixed(2)} s`);
    return { seconds, serverCpu, clientCpu: 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await slapd.stop();
  }
}

export default async function run(opts: BenchOptions): Promise<BenchResult> {
  const n = opts.rows ?? DEFAULT_ROWS;
  const people = joiners(n);
  const rounds: Record<'connector' | 'ldapadd' | 'ldapaddBulkMembers', Round[]> = {
    connector: [],
    ldapadd: [],
    ldapaddBulkMembers: [],
  };
  // Warm-up (untimed): a small connector run so JIT and the page cache are not charged to round 1.
  await viaConnector(joiners(500), () => undefined);
  for (let r = 0; r < ROUNDS; r++) {
    rounds.connector.push(await viaConnector(people, opts.log));
    rounds.ldapadd.push(await viaLdapadd(people, false, opts.log));
    rounds.ldapaddBulkMembers.push(await viaLdapadd(people, true, opts.log));
  }
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const method = (list: Round[], extra: Record<string, number>): MethodFigures => {
    const best = list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    return figures(n, best.seconds, {
      ...extra,
      memberships: 2 * n,
      serverCpuMsPerAccount: r3((best.serverCpu * 1000) / n),
      ...(best.clientCpu ? { clientCpuMsPerAccount: r3((best.clientCpu * 1000) / n) } : {}),
      secondsPerRound: list.map((x) => r3(x.seconds)),
    });
  };
  const fastest = rounds.connector.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const modifies = fastest.membershipModifies ?? 2 * n;
  const searches = fastest.searches ?? 0;
  // One add per joiner, one modify per (merged) membership change, and the identity searches.
  const connector = method(rounds.connector, {
    concurrency: CONCURRENCY,
    ldapOperations: n + modifies + searches,
    membershipModifies: modifies,
    identitySearches: searches,
  });
  const ldapadd = method(rounds.ldapadd, { ldapOperations: 3 * n });
  const bulk = method(rounds.ldapaddBulkMembers, { ldapOperations: n + GROUPS });
  const ratio = (a: MethodFigures, b: MethodFigures) =>
    Math.round((a.rowsPerSecond / b.rowsPerSecond) * 1000) / 1000;
  return {
    figures: {
      connector,
      ldapaddBulkMembers: bulk,
      groups: GROUPS,
      slapd: `OpenLDAP 2.5, back_mdb, memberof + refint + ppolicy, ${DURABLE ? 'fsync on every write' : 'dbnosync'}`,
    },
    baseline: {
      name: 'ldapadd',
      description:
        'ldapmodify -a of the equivalent LDIF: the same entries, then one modify record per membership',
      figures: { ldapadd },
    },
    ratios: {
      connectorToLdapadd: ratio(connector, ldapadd),
      connectorToBulkMembers: ratio(connector, bulk),
      connectorAccountsPerSecond: connector.rowsPerSecond,
    },
    notes: [
      'Target (issue 5): >= 1,000 joiner accounts/s through the connector, with 2 group memberships each, and the ratio to a bare ldapadd of the same LDIF in the same run.',
      `The connector does one add per joiner (its post-read control returns entryUUID and the server's DN, so nothing is read back). Memberships requested at the same time for one group are merged into one modify (a failed merged modify falls back to one member at a time, so each caller gets its own error). The DNs written are ones the directory gave the connector within recentDnMs (default 1 s: the add's post-read for the joiner, the last search for the group); older ones are found by entryUUID in one search first, so a DN seen long ago is never trusted and a missing account is not_found instead of a dangling member (identitySearches counts them). ldapadd does 3 operations per joiner (add and 2 modifies) and checks nothing. ${CONCURRENCY} joiners are in flight at once over one connection; ldapadd runs one operation at a time.`,
      'serverCpuMsPerAccount is slapd CPU time (from /proc) per joiner, clientCpuMsPerAccount this process (connector + ldapts): what limits the connector is the CPU of the 2 cores shared by slapd and Node (before recentDnMs, a search per merged member write cost slapd about 0.35 ms and Node about 0.2 ms per joiner; the post-read costs slapd about 0.08 ms); with other work on the machine both fall.',
      'The memberof overlay turns each membership modify into a second write (memberOf on the account), the same for every method.',
      `Each method runs on a fresh slapd with the same ${GROUPS} pre-created groups (each ends with about ${Math.round((2 * n) / GROUPS)} members); checked afterwards: account count, 2 memberOf per account, 2N member values. ${DURABLE ? 'fsync is on for every write transaction.' : 'Writes are not fsynced (dbnosync): with fsync on (LDAP_BENCH_DURABLE=1) mdb syncs every write transaction, and every method becomes bound by the disk (measured here on a loaded machine, 2,000 joiners: about 160/s through the connector, whose concurrency overlaps the syncs, and 120/s for ldapadd; 5 writes per joiner).'}`,
      'Untimed warm-up: 500 joiners through the connector on a throwaway server. Methods interleave over 2 rounds; the fastest round is reported, every round in secondsPerRound.',
    ],
  };
}
