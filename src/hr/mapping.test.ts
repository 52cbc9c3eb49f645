import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAPPING,
  FIELD_KEYS,
  headerFingerprint,
  normaliseHeaderName,
  resolveHeader,
} from './mapping.ts';
import { HR_FIELDS } from './types.ts';

describe('normaliseHeaderName', () => {
  it.each([
    ['employee_id', 'employee_id'],
    ['Employee ID', 'employee_id'],
    ['employee-id', 'employee_id'],
    ['  EMPLOYEE_ID  ', 'employee_id'],
    ['\ufeffemployee_id', 'employee_id'],
    ['Cost  -  Center', 'cost_center'],
  ])('%j → %s', (raw, normalised) => {
    expect(normaliseHeaderName(raw)).toBe(normalised);
  });
});

describe('resolveHeader', () => {
  it('maps every HR field by its own name by default and keeps other columns as attributes', () => {
    const header = [...HR_FIELDS, ' Badge Colour ', 'Desk'];
    const r = resolveHeader(header);
    expect(r.problems).toEqual([]);
    HR_FIELDS.forEach((f, i) => expect(r.index[f]).toBe(i));
    expect(r.attributes).toEqual([
      { name: 'Badge Colour', index: HR_FIELDS.length },
      { name: 'Desk', index: HR_FIELDS.length + 1 },
    ]);
    expect(r.header[HR_FIELDS.length]).toBe('Badge Colour');
  });

  it('matches case-insensitively, with spaces or hyphens for underscores, and tolerates a BOM', () => {
    const r = resolveHeader(['\ufeffEmployee ID', 'FIRST-NAME', ' Last Name ', 'Hire Date']);
    expect(r.problems).toEqual([]);
    expect(r.index).toEqual({ employee_id: 0, first_name: 1, last_name: 2, hire_date: 3 });
    expect(r.header).toEqual(['Employee ID', 'FIRST-NAME', 'Last Name', 'Hire Date']);
  });

  it('uses the mapping, falling back to the field name for unmapped fields', () => {
    const r = resolveHeader(['Personnel No', 'Given Name', 'Surname', 'department', 'employee_id'], {
      columns: { employee_id: 'Personnel No', first_name: 'given name', last_name: 'SURNAME' },
    });
    expect(r.problems).toEqual([]);
    expect(r.index).toEqual({ employee_id: 0, first_name: 1, last_name: 2, department: 3 });
    // "employee_id" is not the mapped column, so it is just an attribute here.
    expect(r.attributes).toEqual([{ name: 'employee_id', index: 4 }]);
  });

  it('reports missing required columns, naming the mapped header', () => {
    const r = resolveHeader(['first_name', 'department'], { columns: { last_name: 'Surname' } });
    expect(r.problems.map((p) => [p.code, p.column])).toEqual([
      ['missing_required_header', 'employee_id'],
      ['missing_required_header', 'Surname'],
    ]);
    expect(r.problems[1]?.message).toContain('"Surname"');
  });

  it('reports duplicate and empty headers', () => {
    const r = resolveHeader(['employee_id', 'first_name', 'last_name', 'Employee ID', '', 'Desk', 'desk']);
    expect(r.problems.map((p) => [p.code, p.column])).toEqual([
      ['duplicate_header', 'Employee ID'],
      ['empty_header', 'column 5'],
      ['duplicate_header', 'desk'],
    ]);
    expect(r.problems[0]?.message).toContain('(column 1) and "Employee ID" (column 4)');
    expect(r.problems[2]?.message).toContain('"Desk" (column 6) and "desk" (column 7)');
    expect(r.index.employee_id).toBe(0);
    expect(r.attributes).toEqual([{ name: 'Desk', index: 5 }]);
  });

  it('reports a header that is not valid UTF-8', () => {
    const r = resolveHeader(['employee_id', 'first_name', 'last_name', 'Stra\ufffde']);
    expect(r.problems.map((p) => p.code)).toEqual(['bad_encoding']);
  });

  it('has a field key for every HR field', () => {
    expect(Object.keys(FIELD_KEYS).sort()).toEqual([...HR_FIELDS].sort());
    expect(DEFAULT_MAPPING.columns).toEqual({});
  });
});

describe('headerFingerprint', () => {
  it('ignores order and spelling variants', () => {
    expect(headerFingerprint(['Employee ID', 'last_name', 'First-Name'])).toBe(
      headerFingerprint(['\ufefffirst_name', 'employee_id', 'LAST NAME']),
    );
    expect(headerFingerprint(['b', 'a'])).toBe('a b');
  });

  it('changes when a column is added, removed or renamed', () => {
    const base = headerFingerprint(['employee_id', 'first_name', 'last_name']);
    expect(headerFingerprint(['employee_id', 'first_name', 'last_name', 'department'])).not.toBe(base);
    expect(headerFingerprint(['employee_id', 'first_name'])).not.toBe(base);
    expect(headerFingerprint(['employee_id', 'first_name', 'surname'])).not.toBe(base);
  });
});
