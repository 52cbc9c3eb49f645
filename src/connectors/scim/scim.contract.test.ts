/**
 * The shared connector contract against a real third-party SCIM server (SCIMMY + SCIMMY Routers), once per vendor
 * profile: each shapes the requests differently (src/connectors/scim/patch.ts), so each must pass on its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { systemClock } from '../../kit/clock.ts';
import { silentLogger } from '../../kit/log.ts';
import { startScimPeer, type ScimPeer } from '../../testing/scim-peer.ts';
import { contractSuite } from '../kit/contract.ts';
import type { ContractFixture } from '../kit/contract-types.ts';
import type { Attributes } from '../kit/types.ts';
import { scimConnector, SCIM_PROFILES, type ScimProfile } from './index.ts';

let peer: ScimPeer;
beforeAll(async () => {
  peer = await startScimPeer({ minPasswordLength: 8 });
});
afterAll(async () => {
  await peer?.close();
});

const UNLOCK = 'SCIM 2.0 has no lockout state or unlock operation: RFC 7643 defines only "active"';

function fixture(profile: ScimProfile): ContractFixture {
  return {
    name: `scim, profile ${profile} (SCIMMY peer)`,
    async connect() {
      const config = scimConnector.configSchema.parse({
        baseUrl: peer.url,
        auth: { type: 'bearer', token: peer.token },
        profile,
      });
      return scimConnector.open(config, { log: silentLogger, clock: systemClock });
    },
    account: (n, opts): Attributes =>
      opts?.unicode
        ? {
            // No quotes or backslashes in the searched userName: SCIMMY cannot parse escaped ones in filters.
            userName: `zoë.ångström-łukasz.東京.${n}`,
            displayName: `Zoë Ångström-Łukasz, "Jr" ${n}`,
            'name.givenName': 'Zoë',
            'name.familyName': 'Ångström-Łukasz',
            title: 'Ingénieure 🦊',
          }
        : {
            userName: `user${n}@corp.example`,
            displayName: `User ${n}`,
            'name.givenName': 'Ada',
            'name.familyName': `Lovelace ${n}`,
            'emails[type eq "work"].value': `user${n}@corp.example`,
            title: 'Engineer',
          },
    accountUpdate: {
      deltas: [
        { attribute: 'title', op: 'replace', values: ['Lead Engineer'] },
        { attribute: 'nickName', op: 'add', values: ['Ada'] },
        { attribute: 'emails[type eq "work"].value', op: 'replace', values: ['ada@corp.example'] },
      ],
      expect: { title: 'Lead Engineer', nickName: 'Ada', 'emails[type eq "work"].value': 'ada@corp.example' },
    },
    renamed: (_current, n) => `renamed${n}@corp.example`,
    group: (n) => ({ displayName: `Group ${n}` }),
    password: { good: 'Corr3ct-Horse', bad: 'sh0rt' },
    checkPassword: async (ref, password) => peer.store.password(ref.id) === password,
    outsideChange: async (ref) => {
      peer.store.update('Users', ref.id, (r) => void (r.title = `changed outside ${randomUUID()}`));
    },
    pageSize: 3,
    unsupported:
      profile === 'okta'
        ? {
            unlock: UNLOCK,
            delete:
              'profile okta: Okta never deletes an application user, it deprovisions with active=false (disable())',
          }
        : { unlock: UNLOCK },
  };
}

for (const profile of SCIM_PROFILES) contractSuite(fixture(profile));
