export const ReconErrors = {
  /** Another run of the same target is in progress. */
  running: 'recon_running',
  /** The connector cannot list accounts (no `search`). */
  unsupported: 'recon_unsupported',
  findingNotFound: 'finding_not_found',
  objectNotFound: 'recon_object_not_found',
  wrongState: 'finding_wrong_state',
  invalid: 'recon_invalid',
  nothingToFix: 'finding_nothing_to_fix',
  /** An incremental run needs a completed run's sync position. */
  noSyncToken: 'recon_no_sync_token',
} as const;
