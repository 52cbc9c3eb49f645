/**
 * Test helpers for the Active Directory suites: a private OU tree in the shared Samba DC (src/testing/samba.ts) per
 * test file, a connector configured for it, and a raw administrator connection for changes "behind the connector's
 * back". Everything lives under one OU that `cleanup()` removes with the tree-delete control.
 */
import { randomBytes } from 'node:crypto';
import { Control, type Client } from 'ldapts';
import { systemClock } from '../../kit/clock.ts';
import { createLogger } from '../../kit/log.ts';
import { adminClient, sambaDc, type SambaDc } from '../../testing/samba.ts';
import { Secret } from '../kit/types.ts';
import { adConfigSchema, type AdConfig, type AdConfigInput } from './config.ts';
import { ActiveDirectoryConnector } from './connector.ts';

const TREE_DELETE_OID = '1.2.840.113556.1.4.805';

export interface AdTestDomain {
  dc: SambaDc;
  /** Bound as the domain Administrator. */
  raw: Client;
  /** OU=gh-<label>-<random>,<base>: everything this file makes is inside. */
  root: string;
  usersDn: string;
  groupsDn: string;
  /** department → OU, as configured. */
  departmentOus: Record<string, string>;
  config: AdConfig;
  open(overrides?: Partial<AdConfigInput>): ActiveDirectoryConnector;
  /** A password the domain policy accepts, unique per call. */
  password(): Secret;
  cleanup(): Promise<void>;
}

const quietDeps = () => ({ log: createLogger({ level: 'silent' }), clock: systemClock });

export async function adTestDomain(label: string, departments: string[] = []): Promise<AdTestDomain> {
  const dc = await sambaDc();
  const raw = await adminClient(dc);
  const root = `OU=gh-${label}-${randomBytes(4).toString('hex')},${dc.baseDn}`;
  const usersDn = `OU=Users,${root}`;
  const groupsDn = `OU=Groups,${root}`;
  const departmentOus = Object.fromEntries(departments.map((d) => [d, `OU=${d},${root}`]));
  for (const ou of [root, usersDn, groupsDn, ...Object.values(departmentOus)])
    await raw.add(ou, { objectClass: ['top', 'organizationalUnit'] });
  const input: AdConfigInput = {
    url: dc.url,
    bindDn: dc.adminUpn,
    bindPassword: dc.adminPassword,
    baseDn: dc.baseDn,
    usersDn,
    groupsDn,
    upnSuffix: dc.upnSuffix,
    departmentOus,
    tls: { ca: dc.ca },
  };
  const config = adConfigSchema.parse(input);
  let n = 0;
  return {
    dc,
    raw,
    root,
    usersDn,
    groupsDn,
    departmentOus,
    config,
    open: (overrides = {}) =>
      new ActiveDirectoryConnector(adConfigSchema.parse({ ...input, ...overrides }), quietDeps()),
    password: () => new Secret(`Gh-Test-${randomBytes(4).toString('hex')}-${++n}x`),
    cleanup: async () => {
      try {
        await raw.del(root, new Control(TREE_DELETE_OID));
      } finally {
        await raw.unbind().catch(() => undefined);
      }
    },
  };
}
