import { describe, expect, it } from 'vitest';
import { resolveHeader } from './mapping.ts';
import { HR_FIELDS, ROW_ERROR_CODES } from './types.ts';
import type { HrField, HrRecord, RowError, RowErrorCode, StoredPerson } from './types.ts';
import {
  MAX_CELL_LENGTH,
  checkFileLevel,
  hrHash,
  normalisePhone,
  parseIsoInstant,
  validateRow,
} from './validate.ts';

const now = new Date('2026-06-15T12:00:00Z');
const HEADER = [...HR_FIELDS, 'Badge Colour'];
const resolved = resolveHeader(HEADER);

type Cells = Partial<Record<HrField | 'Badge Colour', string>>;
const BASE: Cells = { employee_id: 'E100', first_name: 'Jane', last_name: 'Doe' };

function cellsOf(values: Cells): string[] {
  return HEADER.map((h) => values[h as HrField] ?? '');
}

function check(values: Cells, row = 2) {
  return validateRow(row, cellsOf({ ...BASE, ...values }), resolved, { now });
}

function only(values: Cells): RowError {
  const { record, errors } = check(values);
  expect(record).toBeNull();
  expect(errors).toHaveLength(1);
  return errors[0] as RowError;
}

const covered = new Set<RowErrorCode>();
function expectCode(error: RowError, code: RowErrorCode): void {
  expect(error.code).toBe(code);
  covered.add(code);
}

describe('validateRow: normalisation', () => {
  it('builds a record from a minimal row with defaults', () => {
    const { record, errors } = check({});
    expect(errors).toEqual([]);
    expect(record).toEqual({
      employeeId: 'E100',
      firstName: 'Jane',
      lastName: 'Doe',
      preferredName: null,
      personalEmail: null,
      mobilePhone: null,
      birthDate: null,
      department: null,
      title: null,
      costCenter: null,
      location: null,
      timeZone: null,
      managerId: null,
      workerType: 'employee',
      status: null,
      hireDate: null,
      terminationDate: null,
      attributes: {},
    } satisfies HrRecord);
  });

  it('trims, lower-cases emails, normalises phones and zones and keeps attributes', () => {
    const { record, errors } = check({
      employee_id: '  E100 ',
      first_name: ' Zoë ',
      last_name: 'Ångström',
      preferred_name: '  ',
      personal_email: ' Zoe.Angstrom@Example.ORG ',
      mobile_phone: '+49 (0)30 123-456.78',
      birth_date: '1990-02-28',
      department: 'Research & Development',
      time_zone: 'europe/berlin',
      manager_id: 'E1',
      worker_type: 'Contractor',
      status: 'On-Leave',
      hire_date: '2024-02-29',
      termination_date: '2026-12-31T17:00:00+01:00',
      'Badge Colour': ' blue ',
    });
    expect(errors).toEqual([]);
    expect(record).toMatchObject({
      employeeId: 'E100',
      firstName: 'Zoë',
      lastName: 'Ångström',
      preferredName: null,
      personalEmail: 'zoe.angstrom@example.org',
      mobilePhone: '+493012345678',
      birthDate: '1990-02-28',
      department: 'Research & Development',
      timeZone: 'Europe/Berlin',
      managerId: 'E1',
      workerType: 'contractor',
      status: 'on_leave',
      hireDate: '2024-02-29',
      terminationDate: '2026-12-31T16:00:00.000Z',
      attributes: { 'Badge Colour': 'blue' },
    });
  });

  it('normalises names to NFC (a decomposed ë from macOS equals the composed one)', () => {
    const { record } = check({ first_name: 'Zoe\u0308' });
    expect(record?.firstName).toBe('Zoë');
    expect(record?.firstName).toHaveLength(3);
  });

  it.each([
    ['active', 'active'],
    ['ACTIVE', 'active'],
    ['prehire', 'prehire'],
    ['Pre-Hire', 'prehire'],
    ['on_leave', 'on_leave'],
    ['on leave', 'on_leave'],
    ['On-Leave', 'on_leave'],
    ['leave', 'on_leave'],
    ['Terminated', 'terminated'],
  ])('status %j → %s', (raw, status) => {
    expect(check({ status: raw }).record?.status).toBe(status);
  });

  it.each([
    ['employee', 'employee'],
    ['Contractor', 'contractor'],
    ['INTERN', 'intern'],
    ['partner', 'partner'],
    ['', 'employee'],
  ])('worker_type %j → %s', (raw, type) => {
    expect(check({ worker_type: raw }).record?.workerType).toBe(type);
  });

  it.each([
    ['+49 30 1234567', '+49301234567'],
    ['0049 30 1234567', '+49301234567'],
    ['0049 (0)30 1234567', '+49301234567'],
    ['+1 (212) 555-0100', '+12125550100'],
    ['212.555.0100', '2125550100'],
    ['030 1234567', '0301234567'],
  ])('mobile %j → %s', (raw, phone) => {
    expect(normalisePhone(raw)).toBe(phone);
    expect(check({ mobile_phone: raw }).record?.mobilePhone).toBe(phone);
  });

  it.each([
    ['2026-12-31T17:00:00+01:00', '2026-12-31T16:00:00.000Z'],
    ['2026-12-31T17:00Z', '2026-12-31T17:00:00.000Z'],
    ['2026-12-31 23:30:00-05:00', '2027-01-01T04:30:00.000Z'],
    ['2026-12-31T17:00:00.5+0530', '2026-12-31T11:30:00.500Z'],
  ])('termination date-time %j → %s', (raw, instant) => {
    expect(parseIsoInstant(raw)).toEqual({ ok: true, instant });
    expect(check({ termination_date: raw }).record?.terminationDate).toBe(instant);
  });

  it('accepts a termination on the hire date, and a leap day', () => {
    expect(check({ hire_date: '2028-02-29', termination_date: '2028-02-29' }).errors).toEqual([]);
  });

  it('keeps only non-empty attribute cells', () => {
    expect(check({ 'Badge Colour': '   ' }).record?.attributes).toEqual({});
  });
});

describe('validateRow: errors', () => {
  it('missing_employee_id', () => {
    const e = only({ employee_id: '  ' });
    expectCode(e, 'missing_employee_id');
    expect(e).toMatchObject({ row: 2, column: 'employee_id', value: null });
    expect(e.message).toMatch(/employee_id is empty/);
  });

  it('missing_required for first and last name, both reported', () => {
    const { record, errors } = check({ first_name: '', last_name: '' });
    expect(record).toBeNull();
    expect(errors.map((e) => [e.code, e.column])).toEqual([
      ['missing_required', 'first_name'],
      ['missing_required', 'last_name'],
    ]);
    covered.add('missing_required');
  });

  it.each(['2026-13-45', '2026-02-30', '2025-02-29', '31/12/2026', '2026-1-5', 'tomorrow'])(
    'bad_date for hire_date %j',
    (value) => {
      const e = only({ hire_date: value });
      expectCode(e, 'bad_date');
      expect(e).toMatchObject({ column: 'hire_date', value });
      expect(e.message).toBe(`hire_date "${value}" is not a date: use YYYY-MM-DD (ISO 8601)`);
    },
  );

  it('bad_date for a birth date in the future', () => {
    const e = only({ birth_date: '2030-01-01' });
    expectCode(e, 'bad_date');
    expect(e.message).toContain('in the future');
  });

  it('bad_date for a termination that is neither a date nor a date-time', () => {
    expectCode(only({ termination_date: 'end of year' }), 'bad_date');
  });

  it.each(['2026-12-31T17:00:00', '2026-12-31T17:00', '2026-12-31 17:00'])(
    'bad_datetime for %j (no offset: ambiguous)',
    (value) => {
      const e = only({ termination_date: value });
      expectCode(e, 'bad_datetime');
      expect(e.message).toContain('ambiguous');
    },
  );

  it.each(['2026-12-31T25:00:00Z', '2026-02-30T10:00:00Z', '2026-12-31T10:00:00+15:00'])(
    'bad_datetime for an impossible date-time %j',
    (value) => {
      expectCode(only({ termination_date: value }), 'bad_datetime');
    },
  );

  it('termination_before_hire (date and instant)', () => {
    const e = only({ hire_date: '2026-03-01', termination_date: '2026-02-28' });
    expectCode(e, 'termination_before_hire');
    expect(e.message).toBe(
      'termination_date "2026-02-28" is before hire_date "2026-03-01": a person cannot leave before they start',
    );
    // 2026-03-01T00:30+02:00 is 2026-02-28 in UTC.
    expectCode(
      only({ hire_date: '2026-03-01', termination_date: '2026-03-01T00:30:00+02:00' }),
      'termination_before_hire',
    );
  });

  it.each([
    'jane',
    'jane@',
    '@example.com',
    'jane@example',
    'jane doe@example.com',
    'jane@@example.com',
    'jane..doe@example.com',
  ])('bad_email for %j', (value) => {
    const e = only({ personal_email: value });
    expectCode(e, 'bad_email');
    expect(e.message).toContain(`"${value}"`);
  });

  it.each(['12345', '+49 30 1234567890123456', '555-CALL-NOW', '+49 +30 1234567', 'n/a'])(
    'bad_phone for %j',
    (value) => {
      expectCode(only({ mobile_phone: value }), 'bad_phone');
    },
  );

  it.each(['Berlin', 'Europe/Atlantis', 'GMT+25'])('bad_time_zone for %j', (value) => {
    const e = only({ time_zone: value });
    expectCode(e, 'bad_time_zone');
    expect(e.message).toContain('IANA');
  });

  it.each(['external', 'freelancer', 'staff'])('bad_worker_type for %j', (value) => {
    expectCode(only({ worker_type: value }), 'bad_worker_type');
  });

  it.each(['inactive', 'term', 'fired', 'retired'])('bad_status for %j', (value) => {
    expectCode(only({ status: value }), 'bad_status');
  });

  it('too_long above 256 characters, counting characters not bytes', () => {
    expect(check({ department: 'ä'.repeat(MAX_CELL_LENGTH) }).errors).toEqual([]);
    const e = only({ department: 'x'.repeat(MAX_CELL_LENGTH + 1) });
    expectCode(e, 'too_long');
    expect(e.message).toContain('257 characters');
    expect(e.message.length).toBeLessThan(200);
    expectCode(only({ 'Badge Colour': 'x'.repeat(300) }), 'too_long');
  });

  it('bad_encoding for cells decoded from invalid UTF-8', () => {
    const e = only({ last_name: 'M\ufffdller' });
    expectCode(e, 'bad_encoding');
    expect(e).toMatchObject({ column: 'last_name', value: 'M\ufffdller' });
    expect(e.message).toContain('UTF-8');
  });

  it('bad_row for a wrong number of cells, with column *', () => {
    const short = validateRow(7, ['E1', 'Jane', 'Doe'], resolved, { now });
    expect(short.record).toBeNull();
    expect(short.errors).toHaveLength(1);
    expectCode(short.errors[0] as RowError, 'bad_row');
    expect(short.errors[0]).toMatchObject({ row: 7, column: '*' });
    expect(short.errors[0]?.message).toContain(`header has ${HEADER.length} columns`);
    const long = validateRow(8, [...cellsOf(BASE), 'surprise'], resolved, { now });
    expect(long.errors.map((e) => e.code)).toEqual(['bad_row']);
    // Trailing empty cells (a trailing delimiter) are harmless.
    expect(validateRow(9, [...cellsOf(BASE), '', ' '], resolved, { now }).errors).toEqual([]);
  });

  it('reports every problem of a row, naming columns as written in the file', () => {
    const header = resolveHeader([
      'Employee ID',
      'First Name',
      'Last Name',
      'Hire Date',
      'Personal Email',
      'Status',
    ]);
    const { record, errors } = validateRow(5, ['', 'Jane', '', '2026-13-45', 'nope', 'inactive'], header, {
      now,
    });
    expect(record).toBeNull();
    expect(errors.map((e) => [e.row, e.column, e.code])).toEqual([
      [5, 'Employee ID', 'missing_employee_id'],
      [5, 'Last Name', 'missing_required'],
      [5, 'Hire Date', 'bad_date'],
      [5, 'Personal Email', 'bad_email'],
      [5, 'Status', 'bad_status'],
    ]);
    expect(errors[2]?.message).toBe('Hire Date "2026-13-45" is not a date: use YYYY-MM-DD (ISO 8601)');
  });

  it('reports missing_employee_id on every row when the column is absent', () => {
    const header = resolveHeader(['first_name', 'last_name']);
    const { errors } = validateRow(2, ['Jane', 'Doe'], header, { now });
    expect(errors.map((e) => e.code)).toEqual(['missing_employee_id']);
  });
});

function rec(employeeId: string, managerId: string | null = null): HrRecord {
  const { record } = check({ employee_id: employeeId, manager_id: managerId ?? '' });
  if (record === null) throw new Error('test record is invalid');
  return record;
}

describe('checkFileLevel', () => {
  const none = () => false;

  it('accepts a consistent file', () => {
    const rows = [
      { row: 2, record: rec('E1') },
      { row: 3, record: rec('E2', 'E1') },
      { row: 4, record: rec('E3', 'E2') },
    ];
    expect(checkFileLevel(rows, none)).toEqual({ errors: [], rejectRows: new Set() });
  });

  it('duplicate_in_file: every occurrence is an error naming the rows, all are rejected', () => {
    const rows = [
      { row: 4, record: rec('E100') },
      { row: 5, record: rec('E200') },
      { row: 9, record: rec('E100') },
      { row: 12, record: rec('e100') }, // ids are case-sensitive: a different person
    ];
    const { errors, rejectRows } = checkFileLevel(rows, none);
    expect(errors.map((e) => [e.row, e.code, e.value])).toEqual([
      [4, 'duplicate_in_file', 'E100'],
      [9, 'duplicate_in_file', 'E100'],
    ]);
    expect(errors[0]?.message).toBe(
      'employee_id E100 appears on rows 4 and 9: fix the file so each person appears once',
    );
    expect([...rejectRows]).toEqual([4, 9]);
    covered.add('duplicate_in_file');
  });

  it('lists three or more rows readably', () => {
    const rows = [2, 3, 7].map((row) => ({ row, record: rec('E1') }));
    const { errors } = checkFileLevel(rows, none);
    expect(errors).toHaveLength(3);
    expect(errors[0]?.message).toContain('rows 2, 3 and 7');
  });

  it('unknown_manager unless in the file or known to the store', () => {
    const rows = [
      { row: 2, record: rec('E1', 'BOSS') },
      { row: 3, record: rec('E2', 'E999') },
      { row: 4, record: rec('E3', 'e1') },
    ];
    const { errors, rejectRows } = checkFileLevel(rows, (id) => id === 'BOSS');
    expect(errors.map((e) => [e.row, e.code, e.column, e.value])).toEqual([
      [3, 'unknown_manager', 'manager_id', 'E999'],
      [4, 'unknown_manager', 'manager_id', 'e1'],
    ]);
    expect(errors[0]?.message).toContain('E999 is not a known employee');
    expect([...rejectRows].sort()).toEqual([3, 4]);
    covered.add('unknown_manager');
  });

  it('a manager whose own row is rejected does not count, and the rejection cascades', () => {
    const rows = [
      { row: 2, record: rec('M1') },
      { row: 3, record: rec('M1') }, // duplicate: both rejected
      { row: 4, record: rec('E1', 'M1') }, // manager only on rejected rows → unknown
      { row: 5, record: rec('E2', 'E1') }, // E1 rejected → unknown too
      { row: 6, record: rec('E3', 'E2') },
    ];
    const { errors, rejectRows } = checkFileLevel(rows, none);
    expect([...rejectRows].sort()).toEqual([2, 3, 4, 5, 6]);
    expect(errors.filter((e) => e.code === 'unknown_manager').map((e) => e.row)).toEqual([4, 5, 6]);
    expect(errors.find((e) => e.row === 4)?.message).toContain('row 2 and 3');
    // Known to the store: the stored person stays a valid manager even when their new row is rejected.
    expect(checkFileLevel(rows, (id) => id === 'M1').rejectRows).toEqual(new Set([2, 3]));
  });

  it('self_manager', () => {
    const { errors, rejectRows } = checkFileLevel([{ row: 2, record: rec('E1', 'E1') }], () => true);
    expect(errors.map((e) => e.code)).toEqual(['self_manager']);
    expect(errors[0]?.message).toContain('own');
    expect(rejectRows).toEqual(new Set([2]));
    covered.add('self_manager');
  });

  it('names columns as written when given the resolved header', () => {
    const header = resolveHeader(['Employee ID', 'first_name', 'last_name', 'Manager']);
    const withNames = { ...header, index: { ...header.index, manager_id: 3 } };
    const { errors } = checkFileLevel([{ row: 2, record: rec('E1', 'X') }], none, withNames);
    expect(errors[0]?.column).toBe('Manager');
    expect(errors[0]?.message).toContain('Employee ID');
  });
});

describe('hrHash', () => {
  it('is stable hex sha256, independent of attribute order and of stored-only fields', () => {
    const a = rec('E1');
    const h = hrHash({ ...a, attributes: { x: '1', y: '2' } });
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hrHash({ ...a, attributes: { y: '2', x: '1' } })).toBe(h);
    const stored: StoredPerson = { ...a, attributes: { x: '1', y: '2' }, id: 'p1', currentStatus: 'active' };
    expect(hrHash(stored)).toBe(h);
  });

  it('changes with every field', () => {
    const a = rec('E1');
    const base = hrHash(a);
    const variants: Partial<HrRecord>[] = [
      { employeeId: 'E2' },
      { firstName: 'X' },
      { lastName: 'X' },
      { preferredName: 'X' },
      { personalEmail: 'x@example.com' },
      { mobilePhone: '+491234567' },
      { birthDate: '1990-01-01' },
      { department: 'X' },
      { title: 'X' },
      { costCenter: 'X' },
      { location: 'X' },
      { timeZone: 'UTC' },
      { managerId: 'X' },
      { workerType: 'intern' },
      { status: 'active' },
      { hireDate: '2026-01-01' },
      { terminationDate: '2026-01-01' },
      { attributes: { x: '1' } },
    ];
    const hashes = variants.map((v) => hrHash({ ...a, ...v }));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
    // null and "" are different (never equal after validation, but the hash must not conflate them)
    expect(hrHash({ ...a, department: '' })).not.toBe(base);
  });
});

describe('coverage of the error codes', () => {
  it('every row error code is exercised by these tests', () => {
    expect([...covered].sort()).toEqual([...ROW_ERROR_CODES].sort());
  });
});
