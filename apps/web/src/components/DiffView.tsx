import { Table, Text, VisuallyHidden } from '@mantine/core';

type Flat = Map<string, unknown>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** {a: {b: 1}, c: [1]} → "a.b" → 1, "c" → [1]. Arrays and scalars are leaves. */
function flatten(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix) out.set(prefix, value);
    for (const k of keys) flatten(value[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  } else if (value !== null && value !== undefined) {
    out.set('(value)', value);
  }
  return out;
}

function show(v: unknown, present: boolean): string {
  if (!present) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? String(v);
}

/** A field-by-field before/after view of an audit event, with changed fields marked. */
export function DiffView({ before, after, label }: { before: unknown; after: unknown; label: string }) {
  const b = flatten(before);
  const a = flatten(after);
  const fields = [...new Set([...b.keys(), ...a.keys()])];
  if (fields.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        This event recorded no before or after values.
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={480}>
      <Table
        aria-label={label}
        className="diff-table"
        fz="xs"
        withTableBorder
        withColumnBorders
        highlightOnHover={false}
      >
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col" w="25%">
              Field
            </Table.Th>
            <Table.Th scope="col">Before</Table.Th>
            <Table.Th scope="col">After</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {fields.map((f) => {
            const before = show(b.get(f), b.has(f));
            const after = show(a.get(f), a.has(f));
            const changed = before !== after;
            return (
              <Table.Tr key={f} className={changed ? 'diff-changed' : undefined}>
                <Table.Th scope="row" className="mono" fw={500}>
                  {f}
                  {changed ? <VisuallyHidden> (changed)</VisuallyHidden> : null}
                </Table.Th>
                <Table.Td>
                  <pre className="diff-value">{before}</pre>
                </Table.Td>
                <Table.Td>
                  <pre className="diff-value">{after}</pre>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
