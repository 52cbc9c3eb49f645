-- Append audit events in one statement: take the chain lock, read the head (after the lock is granted: a VOLATILE
-- function's queries each see what was committed before them, see 0015), link each event to the one before with
-- the same SHA-256 as `hashEventParts` (src/audit/chain.ts), and insert the events and their personal values.
-- Node sends each event's canonical JSON in three parts around the two values only the head decides, its prevHash
-- and its seq:
--   hash = sha256(prev || head || '"' || prev || '"' || mid || seq || tail)
-- (prev is hex, so its JSON string is itself in quotes; seq is an integer, its JSON is its decimal text). The writer
-- need not wait for the head before it sends the events: the append goes out with the change it records, and a
-- pipelined transaction sends its COMMIT right behind it. Personal values name their event by its 1-based place in
-- the call; their seq is known here.
CREATE FUNCTION audit_append_chained(
  lock_id bigint, at timestamptz, by_type text, by_id text, by_name text,
  ids uuid[], actions text[], subject_types text[], subject_ids text[], befores jsonb[], afters jsonb[],
  reasons text[], correlation_ids text[], heads text[], mids text[], tails text[],
  personal_refs uuid[], personal_events int[], personal_subjects text[], personal_values jsonb[]
) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  base bigint;
  prev text;
  prevs text[] := '{}';
  hashes text[] := '{}';
BEGIN
  PERFORM pg_advisory_xact_lock(lock_id);
  SELECT e.seq, e.hash INTO base, prev FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  base := coalesce(base, 0);
  prev := coalesce(prev, repeat('0', 64));
  FOR i IN 1 .. coalesce(cardinality(ids), 0) LOOP
    prevs[i] := prev;
    prev := encode(sha256(convert_to(
      prev || heads[i] || '"' || prev || '"' || mids[i] || (base + i)::text || tails[i], 'UTF8')), 'hex');
    hashes[i] := prev;
  END LOOP;
  INSERT INTO audit_events (seq, id, occurred_at, actor_type, actor_id, actor_name, action, subject_type,
    subject_id, before, after, reason, correlation_id, prev_hash, hash)
  SELECT base + e.n, e.id, at, by_type, by_id, by_name, e.action, e.subject_type, e.subject_id, e.before, e.after,
    e.reason, e.correlation_id, e.prev_hash, e.hash
  FROM unnest(ids, actions, subject_types, subject_ids, befores, afters, reasons, correlation_ids, prevs, hashes)
    WITH ORDINALITY AS e(id, action, subject_type, subject_id, before, after, reason, correlation_id, prev_hash,
      hash, n);
  INSERT INTO audit_personal_values (ref, event_seq, data_subject, value)
  SELECT p.ref, base + p.n, p.subject, p.value
  FROM unnest(personal_refs, personal_events, personal_subjects, personal_values) AS p(ref, n, subject, value);
END $$;
