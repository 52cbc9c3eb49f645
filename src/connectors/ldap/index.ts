/**
 * The LDAP connector: OpenLDAP (and other RFC 4511 directories) through ldapts. See connector.ts for the behaviour
 * and docs/design/004-connectors.md ("LDAP connector") for the choices. escape.ts, errors.ts, client.ts, schema.ts and
 * coalesce.ts are shared with the Active Directory connector.
 */
import type { ConnectorDefinition } from '../kit/types.ts';
import { ldapConfigSchema, type LdapConfig } from './config.ts';
import { LDAP_CAPABILITIES, LdapConnector } from './connector.ts';

export { ldapConfigSchema, type LdapConfig, type LdapConfigInput } from './config.ts';
export { LdapConnector, LDAP_CAPABILITIES, DISABLED_LOCK_TIME } from './connector.ts';
export * from './escape.ts';
export * from './errors.ts';
export * from './client.ts';

export const ldapConnector: ConnectorDefinition<LdapConfig> = {
  type: 'ldap',
  title: 'LDAP directory',
  description:
    'OpenLDAP and other LDAP v3 directories: inetOrgPerson/posixAccount accounts, groupOfNames groups with memberOf, ' +
    'password-modify passwords, ppolicy lock/disable, paged search and modifyTimestamp sync.',
  configSchema: ldapConfigSchema,
  secretFields: ['bindPassword'],
  capabilities: LDAP_CAPABILITIES,
  open: (config, deps) => new LdapConnector(config, deps),
};
