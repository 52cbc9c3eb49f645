export { openDatabase, transaction, waitForDatabase, type Database, type Tx, type Db } from './pool.ts';
export { openPipelinedReads, type PipelinedReads, type Statements } from './pipeline.ts';
export { migrate, pendingMigrations, migrationCount } from './migrate.ts';
export {
  connectDatabase,
  ConnectErrors,
  EMBEDDED_DATABASE,
  withDatabase,
  type DatabaseConnection,
} from './connect.ts';
export { PostgresServer, embeddedBinDir, freePort, isProcessAlive } from './postgres-server.ts';
export { readLock, isLive, lockPath, type LockInfo } from './data-dir.ts';
