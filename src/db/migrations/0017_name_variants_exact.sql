-- The names a base could collide with, read with one more kind of probe: an exact value. A base ending in digits
-- ("anna.load123") has the base itself as its only candidate without a separator (the others are "anna.load123-2",
-- …, found by the range of "anna.load123-"), but a range probe of "anna.load123" also read every anna.load1230…,
-- anna.load12345… there is — hundreds of rows a group when family names end in digits (bench scim, digit names).
-- Same lock, same snapshot rule and same plan shape as migration 0015's function, which this replaces.
DROP FUNCTION name_variants_locked(bigint, timestamptz, text[], text[]);--> statement-breakpoint

CREATE FUNCTION name_variants_locked(
  lock_id bigint, at timestamptz, kinds text[], prefixes text[], exact_kinds text[], exact_values text[]
)
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
  RETURN QUERY
    SELECT k.kind, r.value, r.person_id, coalesce(r.reusable_after <= at, false)
    FROM unnest(exact_kinds, exact_values) AS k(kind, value)
    CROSS JOIN LATERAL (
      SELECT n.value, n.person_id, n.reusable_after FROM name_registry n
      WHERE n.kind = k.kind AND n.value = k.value
      OFFSET 0
    ) AS r;
END $$;
