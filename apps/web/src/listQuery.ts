import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useDebouncedValue } from '@mantine/hooks';

/**
 * A table's state in the query string (so every view has a URL), shared by the list pages:
 * `update` changes some values and, unless it is the page number, goes back to page 1 (dropping a keyset `cursor`
 * too); the search box updates the address bar 300 ms after typing stops.
 */
export function useListQuery() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const update = (changes: Record<string, string | number | null>, keepPage = false) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') p.delete(k);
      else p.set(k, String(v));
    }
    if (!keepPage) {
      p.delete('page');
      p.delete('cursor');
    }
    setParams(p, { replace: 'q' in changes });
  };
  const [search, setSearch] = useState(q);
  const [debounced] = useDebouncedValue(search, 300);
  useEffect(() => setSearch(q), [q]);
  useEffect(() => {
    if (debounced.trim() !== q) update({ q: debounced.trim() });
    // Only when the debounced text changes (update and q are read fresh each time).
  }, [debounced]);
  return { params, q, update, search, setSearch };
}
