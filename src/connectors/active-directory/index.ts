/**
 * The Active Directory connector: Windows AD DS and Samba AD domain controllers over LDAPS. See connector.ts for the
 * behaviour and docs/design/004-connectors.md ("Active Directory connector") for the choices. The LDAP plumbing
 * (connection, escaping, result-code mapping) is shared with the LDAP connector (../ldap).
 */
import type { ConnectorDefinition } from '../kit/types.ts';
import { adConfigSchema, type AdConfig } from './config.ts';
import { AD_CAPABILITIES, ActiveDirectoryConnector } from './connector.ts';

export { adConfigSchema, type AdConfig, type AdConfigInput } from './config.ts';
export { ActiveDirectoryConnector, AD_CAPABILITIES, IN_CHAIN_RULE } from './connector.ts';
export { BIND_SUBCODES, adError, explainPasswordRefusal, type PasswordPolicy } from './errors.ts';
export * from './codec.ts';

export const activeDirectoryConnector: ConnectorDefinition<AdConfig> = {
  type: 'active-directory',
  title: 'Active Directory',
  description:
    'Windows AD DS and Samba AD over LDAPS: users with sAMAccountName/userPrincipalName and an initial password, ' +
    'enable/disable through userAccountControl, must-change and unlock, OU per department, nested groups, ' +
    'lastLogonTimestamp, uSNChanged sync with deletions, and AD error sub-codes as clear messages.',
  configSchema: adConfigSchema,
  secretFields: ['bindPassword'],
  capabilities: AD_CAPABILITIES,
  open: (config, deps) => new ActiveDirectoryConnector(config, deps),
};
