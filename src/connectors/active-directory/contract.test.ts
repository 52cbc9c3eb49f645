/**
 * The shared connector contract suite (src/connectors/kit/contract.ts) against a real Samba AD DC. Nothing is
 * declared unsupported: the connector implements every step.
 */
import { randomBytes } from 'node:crypto';
import { Attribute, Change } from 'ldapts';
import { describe } from 'vitest';
import { sambaSkip } from '../../testing/samba.ts';
import { contractSuite } from '../kit/contract.ts';
import { isConnectorError } from '../kit/errors.ts';
import { Secret, type ObjectRef } from '../kit/types.ts';
import { guidDn } from './codec.ts';
import type { ActiveDirectoryConnector } from './connector.ts';
import { adTestDomain, type AdTestDomain } from './test-fixture.ts';

const skip = sambaSkip();

describe.skipIf(skip)('Active Directory (Samba AD DC)', () => {
  let domain: AdTestDomain | undefined;
  let checker: ActiveDirectoryConnector | undefined;

  contractSuite(async () => {
    const d = await adTestDomain('contract');
    domain = d;
    checker = d.open();
    const c = checker;
    /** Sign in as the account: true when the domain accepts the password, false when it says no (any reason). */
    const signIn = async (ref: ObjectRef, password: string) => {
      try {
        await c.authenticate(ref, new Secret(password));
        return true;
      } catch (e) {
        if (isConnectorError(e, 'auth_failed')) return false;
        throw e;
      }
    };
    return {
      name: 'active-directory (Samba AD DC)',
      connect: async () => d.open(),
      account: (n, opts) => ({
        sAMAccountName: `ct${n}`,
        givenName: opts?.unicode ? 'Zoë' : 'Contract',
        sn: opts?.unicode ? `Ångström-Łukasz ${n}` : `Tester ${n}`,
        displayName: opts?.unicode ? `Zoë Ångström-Łukasz, "Jr" ${n}` : `Contract Tester ${n}`,
        mail: `ct${n}@example.test`,
        title: 'Tester',
      }),
      accountUpdate: {
        deltas: [
          { attribute: 'title', op: 'replace', values: ['Senior Tester'] },
          { attribute: 'telephoneNumber', op: 'replace', values: ['+1 555 0100'] },
          { attribute: 'mail', op: 'replace', values: [] },
        ],
        expect: { title: 'Senior Tester', telephoneNumber: '+1 555 0100', mail: null },
      },
      renamed: (_current, n) => `Renamed Tester ${n}`,
      group: (n) => ({ cn: `ctg${n}`, description: `contract group ${n}` }),
      password: { good: `Gh-${randomBytes(4).toString('hex')}-Contract1`, bad: 'Zq9!' },
      checkPassword: signIn,
      lock: async (ref) => {
        for (let i = 0; i < d.dc.lockoutThreshold; i++) await signIn(ref, `Wrong-${i}-Passw0rd`);
      },
      outsideChange: async (ref) => {
        await d.raw.modify(guidDn(ref.id), [
          new Change({
            operation: 'replace',
            modification: new Attribute({
              type: 'description',
              values: [`outside ${randomBytes(4).toString('hex')}`],
            }),
          }),
        ]);
      },
      pageSize: 3,
      cleanup: async () => {
        await checker?.close();
        await domain?.cleanup();
      },
    };
  }, 'active-directory (Samba AD DC)');
});
