import { ConnectorError } from '../kit/errors.ts';
import { ALL_CAPABILITIES, type Capability, type ConnectorDefinition } from '../kit/types.ts';
import { sqlConfigSchema, type SqlConfig } from './config.ts';
import { SqlConnector } from './connector.ts';

export { sqlConfigSchema, type SqlConfig, type SqlConfigInput } from './config.ts';
export { SqlConnector, capabilitiesOf } from './connector.ts';

const ALL: readonly Capability[] = ALL_CAPABILITIES;

/**
 * An application's own user and role tables in PostgreSQL. Which capabilities an instance has depends on its
 * mapping (no enabled column: no enable/disable; no password column: no setPassword; …); `capabilities` here lists
 * everything a mapping can turn on.
 */
export const sqlConnector: ConnectorDefinition<SqlConfig> = {
  type: 'sql',
  title: 'SQL table (PostgreSQL)',
  description:
    "An application's own user, role and membership tables in PostgreSQL, through a declarative column mapping.",
  configSchema: sqlConfigSchema,
  secretFields: ['url'],
  capabilities: ALL,
  open(config, deps) {
    const parsed = sqlConfigSchema.safeParse(config);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({
        field: i.path.join('.') || '(config)',
        message: i.message,
      }));
      throw new ConnectorError(
        'invalid_config',
        `the SQL connector configuration is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
        { details: { problems } },
      );
    }
    return new SqlConnector(parsed.data, deps);
  },
};
