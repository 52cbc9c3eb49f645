/**
 * A throwaway OpenLDAP slapd for tests and benches: a slapd.conf in a temp dir (schemas core, cosine, nis,
 * inetorgperson; back_mdb with the memberof, refint and ppolicy overlays), a base LDIF loaded with slapadd, and
 * slapd in the foreground on two free loopback ports: ldap:// (StartTLS offered) and ldaps://, with a certificate
 * from a per-process CA made by openssl. Ready in well under 0.1 s once the certificate exists.
 *
 * The directory (suffix dc=example,dc=test):
 *   cn=manager,…          the account connectors bind as: write access everywhere by ACL, not the rootdn, so the
 *                         password policy applies to what it does (slapd exempts the rootdn from ppolicy)
 *   cn=root,…             the rootdn, for "outside" changes (`ldapmodify`) that bypass ACLs and policy
 *   ou=people, ou=groups  containers; ou=policies with the default policy (pwdMinLength 8, quality checked, lockout
 *                         after 3 failures until an administrator unlocks, pwdMustChange) and a no-lockout policy for
 *                         the manager
 *
 * On CI (`CI=true`) a missing slapd is an error; locally `slapdSkipReason()` lets a suite skip with an install hint.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LdapClient } from '../connectors/ldap/client.ts';
import { Secret } from '../connectors/kit/types.ts';
import { processTreeCpuSeconds } from './processes.ts';

export const INSTALL_HINT =
  'OpenLDAP is not installed: apt-get install slapd ldap-utils openssl (Debian/Ubuntu, as root) to run the LDAP tests';

const SLAPD = ['/usr/sbin/slapd', '/usr/local/libexec/slapd', '/usr/libexec/slapd'].find((p) =>
  existsSync(p),
);
const SLAPADD = ['/usr/sbin/slapadd', '/usr/local/sbin/slapadd'].find((p) => existsSync(p));
const MODULE_PATH = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/local/libexec/openldap'].find((p) =>
  existsSync(join(p, 'back_mdb.so')),
);
const SCHEMA_DIR = ['/etc/ldap/schema', '/etc/openldap/schema'].find((p) =>
  existsSync(join(p, 'core.schema')),
);
const LDAP_TOOLS = ['/usr/bin/ldapmodify', '/usr/bin/ldapadd'].every((p) => existsSync(p));

/** Why the LDAP suites cannot run here (locally only: on CI this returns false and startSlapd fails loudly). */
export function slapdSkipReason(): string | false {
  if (process.env.CI === 'true') return false;
  return SLAPD && SLAPADD && MODULE_PATH && SCHEMA_DIR && LDAP_TOOLS ? false : INSTALL_HINT;
}

export interface SlapdOptions {
  /** Base DN (default dc=example,dc=test). */
  suffix?: string;
  /** More LDIF to slapadd after the base entries (slapadd runs no overlays: add groups over LDAP for memberOf). */
  extraLdif?: string;
  /** Default password policy (defaults: minLength 8, maxFailure 3). */
  passwordPolicy?: { minLength?: number; maxFailure?: number };
  /** Sync every write to disk (default false: tests do not need durability, benches may). */
  durable?: boolean;
  /**
   * Most entries one non-paged search returns to accounts other than the manager and root (slapd's default is
   * 500); paged searches may return any number. A small value lets a test prove that paging is used.
   */
  sizeLimit?: number;
}

export interface LdifResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS available). */
  url: string;
  /** ldaps://127.0.0.1:PORT. */
  ldapsUrl: string;
  port: number;
  ldapsPort: number;
  /** PEM of the CA that signed the server certificate (subjectAltName IP:127.0.0.1, DNS:localhost). */
  caCert: string;
  caFile: string;
  baseDn: string;
  usersDn: string;
  groupsDn: string;
  /** The default password policy entry (pwdMinLength, pwdMaxFailure, pwdMustChange). */
  policyDn: string;
  passwordPolicy: { minLength: number; maxFailure: number };
  /** The account a connector binds as (write access by ACL, subject to the password policy). */
  bindDn: string;
  bindPassword: string;
  /** The rootdn: bypasses ACLs and the password policy. */
  rootDn: string;
  rootPassword: string;
  dir: string;
  readonly pid: number;
  /** CPU time slapd has used so far (user + system seconds, from /proc; undefined where there is none). */
  cpuSeconds(): number | undefined;
  /** Run ldapmodify with LDIF on stdin (as the rootdn unless `as: 'manager'`); `add` makes it ldapadd. */
  ldapmodify(
    ldif: string,
    opts?: { add?: boolean; continueOnError?: boolean; as?: 'root' | 'manager' },
  ): Promise<LdifResult>;
  /** The LDAP connector's configuration for this server (plain ldap://, bound as the manager). */
  connectorConfig(): {
    url: string;
    bindDn: string;
    bindPassword: string;
    baseDn: string;
    usersDn: string;
    groupsDn: string;
  };
  /** A raw LDAP client (src/connectors/ldap/client.ts) bound as the rootdn or the manager; close it when done. */
  client(as?: 'root' | 'manager'): LdapClient;
  /** Like ldapmodify, but a non-zero exit throws with ldapmodify's stderr. */
  apply(ldif: string, opts?: { add?: boolean; as?: 'root' | 'manager' }): Promise<void>;
  /**
   * Stop and start slapd again on the same ports and data (connections drop; the directory stays). With `crash`,
   * slapd is killed (SIGKILL) before this returns its promise: from a synchronous callback in the middle of a read,
   * the server is gone before the reader's next request, whatever the timing (a graceful stop may answer a few more).
   */
  restart(opts?: { crash?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return '{SSHA}' + Buffer.concat([digest, salt]).toString('base64');
}

function run(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<LdifResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** One CA and server certificate per process (openssl, ~0.1 s), shared by every slapd this process starts. */
let tlsDir: Promise<string> | undefined;
function tlsMaterial(): Promise<string> {
  tlsDir ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slapd-tls-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const ossl = async (args: string[]) => {
      const r = await run('openssl', args);
      if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
    };
    const p = (f: string) => join(dir, f);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await ossl([
      'req',
      '-x509',
      ...ec,
      '-days',
      '7',
      '-subj',
      '/CN=Gatehouse test CA',
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.pem'),
    ]);
    await ossl(['req', ...ec, '-subj', '/CN=localhost', '-keyout', p('server.key'), '-out', p('server.csr')]);
    writeFileSync(
      p('ext.cnf'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' +
        'keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
    );
    await ossl([
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '7',
      '-extfile',
      p('ext.cnf'),
      '-out',
      p('server.pem'),
    ]);
    return dir;
  })();
  return tlsDir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function baseLdif(
  suffix: string,
  managerPassword: string,
  policy: { minLength: number; maxFailure: number },
): string {
  const dc = /^dc=([^,]+)/i.exec(suffix)?.[1] ?? 'example';
  return `dn: ${suffix}
objectClass: dcObject
objectClass: organization
dc: ${dc}
o: Gatehouse test directory

dn: ou=people,${suffix}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${suffix}
objectClass: organizationalUnit
ou: groups

dn: ou=policies,${suffix}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,${suffix}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: ${policy.minLength}
pwdCheckQuality: 2
pwdMustChange: TRUE
pwdLockout: TRUE
pwdMaxFailure: ${policy.maxFailure}
pwdLockoutDuration: 0

dn: cn=service,ou=policies,${suffix}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: service
pwdAttribute: userPassword
pwdLockout: FALSE

dn: cn=manager,${suffix}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: manager
userPassword: ${ssha(managerPassword)}
pwdPolicySubentry: cn=service,ou=policies,${suffix}
`;
}

function slapdConf(
  dir: string,
  tls: string,
  suffix: string,
  rootPassword: string,
  durable: boolean,
  sizeLimit: number,
): string {
  const manager = `cn=manager,${suffix}`;
  return `# generated by src/testing/slapd.ts
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/nis.schema
include ${SCHEMA_DIR}/inetorgperson.schema
modulepath ${MODULE_PATH}
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
TLSCACertificateFile ${join(tls, 'ca.pem')}
TLSCertificateFile ${join(tls, 'server.pem')}
TLSCertificateKeyFile ${join(tls, 'server.key')}
sizelimit size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited
# large groups: keep member values sorted so adding one is not a linear scan
sortvals member

database mdb
maxsize 1073741824
suffix "${suffix}"
rootdn "cn=root,${suffix}"
rootpw ${rootPassword}
directory ${join(dir, 'data')}
${durable ? '' : 'dbnosync\n'}index objectClass eq
index entryUUID eq
index entryCSN eq
index uid,cn,mail eq
index member,memberOf eq
limits dn.exact="${manager}" size=unlimited time=unlimited
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword by dn.exact="${manager}" write by self write by anonymous auth by * none
access to * by dn.exact="${manager}" write by users read by * none

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay refint
refint_attributes member
refint_nothing ""

overlay ppolicy
ppolicy_default "cn=default,ou=policies,${suffix}"
ppolicy_hash_cleartext
ppolicy_use_lockout
`;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  if (!SLAPD || !SLAPADD || !MODULE_PATH || !SCHEMA_DIR || !LDAP_TOOLS) throw new Error(INSTALL_HINT);
  const suffix = opts.suffix ?? 'dc=example,dc=test';
  const policy = {
    minLength: opts.passwordPolicy?.minLength ?? 8,
    maxFailure: opts.passwordPolicy?.maxFailure ?? 3,
  };
  const tls = await tlsMaterial();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slapd-'));
  mkdirSync(join(dir, 'data'));
  const bindPassword = randomBytes(12).toString('hex');
  const rootPassword = randomBytes(12).toString('hex');
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    slapdConf(dir, tls, suffix, rootPassword, opts.durable ?? false, opts.sizeLimit ?? 500),
    { mode: 0o600 },
  );
  const ldif = baseLdif(suffix, bindPassword, policy) + (opts.extraLdif ? `\n${opts.extraLdif}` : '');
  const added = await run(SLAPADD, ['-q', '-f', conf], ldif);
  if (added.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed (${added.code}): ${added.stderr}`);
  }

  /** Start slapd on the given ports; undefined (with the reason) when it exits or does not listen in time. */
  const launch = async (port: number, ldapsPort: number): Promise<ChildProcess | string> => {
    const c = spawn(
      SLAPD,
      ['-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${ldapsPort}/`, '-d', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    c.once('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if ((await canConnect(port)) && (await canConnect(ldapsPort))) {
        running.add(c);
        return c;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    c.kill('SIGKILL');
    return stderr || 'slapd did not start listening within 10 s';
  };
  const halt = async (c: ChildProcess): Promise<void> => {
    if (!running.delete(c)) return;
    const gone = new Promise<void>((r) =>
      c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()),
    );
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };

  let proc: ChildProcess | undefined;
  let port = 0;
  let ldapsPort = 0;
  let lastError = '';
  for (let attempt = 0; attempt < 5 && !proc; attempt++) {
    port = await freePort();
    ldapsPort = await freePort();
    if (port === ldapsPort) continue;
    const started = await launch(port, ldapsPort);
    if (typeof started === 'string') lastError = started;
    else proc = started;
  }
  if (!proc) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapd did not start: ${lastError}`);
  }
  let current: ChildProcess = proc;

  const url = `ldap://127.0.0.1:${port}`;
  const bindDn = `cn=manager,${suffix}`;
  const rootDn = `cn=root,${suffix}`;
  const caFile = join(tls, 'ca.pem');
  const ldapmodify: Slapd['ldapmodify'] = (text, o = {}) => {
    const asManager = o.as === 'manager';
    const args = [
      '-x',
      '-H',
      url,
      '-D',
      asManager ? bindDn : rootDn,
      '-w',
      asManager ? bindPassword : rootPassword,
    ];
    if (o.add) args.push('-a');
    if (o.continueOnError) args.push('-c');
    return run('/usr/bin/ldapmodify', args, text, { ...process.env, LDAPTLS_CACERT: caFile });
  };
  return {
    url,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    port,
    ldapsPort,
    caCert: readFileSync(caFile, 'utf8'),
    caFile,
    baseDn: suffix,
    usersDn: `ou=people,${suffix}`,
    groupsDn: `ou=groups,${suffix}`,
    policyDn: `cn=default,ou=policies,${suffix}`,
    passwordPolicy: policy,
    bindDn,
    bindPassword,
    rootDn,
    rootPassword,
    dir,
    get pid() {
      return current.pid!;
    },
    cpuSeconds() {
      return processTreeCpuSeconds(current.pid);
    },
    ldapmodify,
    connectorConfig() {
      return {
        url,
        bindDn,
        bindPassword,
        baseDn: suffix,
        usersDn: `ou=people,${suffix}`,
        groupsDn: `ou=groups,${suffix}`,
      };
    },
    client(as = 'root') {
      return new LdapClient({
        url,
        bindDn: as === 'manager' ? bindDn : rootDn,
        bindPassword: new Secret(as === 'manager' ? bindPassword : rootPassword),
      });
    },
    async apply(text, o = {}) {
      const r = await ldapmodify(text, o);
      if (r.code !== 0) throw new Error(`ldapmodify failed (${r.code}): ${r.stderr.trim()}`);
    },
    async restart(opts = {}) {
      if (opts.crash) current.kill('SIGKILL');
      await halt(current);
      for (let attempt = 0; ; attempt++) {
        const started = await launch(port, ldapsPort);
        if (typeof started !== 'string') {
          current = started;
          return;
        }
        // The old listener may linger for a moment; the ports are ours, so try again briefly.
        if (attempt >= 20) throw new Error(`slapd did not restart: ${started}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await halt(current);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
