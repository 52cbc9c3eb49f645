/**
 * The connector registry: every connector type Gatehouse can open. A target names its type; the targets capability
 * validates the target's configuration with the definition's schema and opens it here.
 */
import { activeDirectoryConnector } from './active-directory/index.ts';
import type { ConnectorDefinition } from './kit/types.ts';
import { ldapConnector } from './ldap/index.ts';
import { manualConnector } from './manual/index.ts';
import { scimConnector } from './scim/index.ts';
import { sqlConnector } from './sql/index.ts';

/** Each definition has its own configuration type; the registry holds them side by side. */
export type AnyConnectorDefinition = ConnectorDefinition<unknown>;

/** A definition opens only configurations its own schema produced; the targets capability guarantees that. */
function entry<C>(definition: ConnectorDefinition<C>): AnyConnectorDefinition {
  return definition as unknown as AnyConnectorDefinition;
}

export const CONNECTORS: readonly AnyConnectorDefinition[] = [
  entry(ldapConnector),
  entry(activeDirectoryConnector),
  entry(scimConnector),
  entry(sqlConnector),
  entry(manualConnector),
];

export function connectorDefinition(
  type: string,
  registry: readonly AnyConnectorDefinition[] = CONNECTORS,
): AnyConnectorDefinition | undefined {
  return registry.find((c) => c.type === type);
}
