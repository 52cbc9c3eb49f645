-- Take a transaction's advisory lock and read what it guards in one round trip. Under READ COMMITTED a statement
-- sees the database as of its start, so a read in the same statement as the lock could miss what the previous
-- holder committed while we waited; a VOLATILE function takes a fresh snapshot for each query it runs, so its read,
-- after the lock, sees everything committed before it was granted (PostgreSQL docs, "Function Volatility
-- Categories"). Each was two round trips inside every write transaction that allocates names or appends to the audit
-- trail.

-- The audit chain's head, under the chain lock (held to commit): the next event links to it.
CREATE FUNCTION audit_chain_head_locked(lock_id bigint) RETURNS TABLE (seq bigint, hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(lock_id);
  RETURN QUERY SELECT e.seq, e.hash FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
END $$;--> statement-breakpoint

-- The registered names that may be variants of the given prefixes, under the naming lock (held to commit; none for a
-- NULL lock_id: a preview that reserves nothing). A candidate is its prefix followed by digits, "@" or nothing: one
-- range of the primary key (value is in "C" order) holds them, with a few neighbours that the caller filters out. The
-- lateral subquery (kept apart by "offset 0") holds the plan to one probe per prefix whatever the statistics say: with
-- a freshly filled, not yet analysed registry PostgreSQL would otherwise scan every row of the kind.
CREATE FUNCTION name_variants_locked(lock_id bigint, at timestamptz, kinds text[], prefixes text[])
RETURNS TABLE (kind text, value text, person_id uuid, reusable boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  IF lock_id IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(lock_id);
  END IF;
  RETURN QUERY
    SELECT k.kind, r.value, r.person_id, coalesce(r.reusable_after <= at, false)
    FROM unnest(kinds, prefixes) AS k(kind, prefix)
    CROSS JOIN LATERAL (
      SELECT n.value, n.person_id, n.reusable_after FROM name_registry n
      WHERE n.kind = k.kind AND n.value >= k.prefix COLLATE "C" AND n.value < (k.prefix || 'A') COLLATE "C"
      OFFSET 0
    ) AS r;
END $$;
