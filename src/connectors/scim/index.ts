/**
 * SCIM 2.0 client connector (RFC 7643/7644): Users as accounts, Groups as groups, over Node's fetch. Vendor quirk
 * profiles shape the requests for applications built against a particular provisioning client (strict RFC,
 * Microsoft Entra ID, Okta). See docs/design/004-connectors.md, "SCIM client connector".
 */
import type { ConnectorDefinition } from '../kit/types.ts';
import { scimConfigSchema, type ScimConfig } from './config.ts';
import { SCIM_CAPABILITIES, ScimConnector } from './connector.ts';

export { scimConfigSchema, SCIM_PROFILES, type ScimConfig, type ScimProfile } from './config.ts';
export { ScimConnector, SCIM_CAPABILITIES, type ScimObjectRef } from './connector.ts';

export const scimConnector: ConnectorDefinition<ScimConfig> = {
  type: 'scim',
  title: 'SCIM 2.0',
  description:
    'Applications with a SCIM 2.0 API (RFC 7644): users and groups, PATCH updates, filtered and paged reads, ' +
    'ETags where offered, and request shapes for applications built for Entra ID or Okta provisioning.',
  configSchema: scimConfigSchema,
  secretFields: ['auth'],
  capabilities: SCIM_CAPABILITIES,
  open: (config, deps) => new ScimConnector(config, deps),
};
