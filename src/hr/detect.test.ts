import { describe, expect, it } from 'vitest';
import { detectEvents, diffRecords } from './detect.ts';
import { EVENT_TYPES } from './types.ts';
import type { DetectOptions, DetectedEvent, HrRecord, StoredPerson } from './types.ts';

const opts: DetectOptions = {
  now: new Date('2026-06-15T12:00:00Z'),
  leadTimeDays: 7,
  defaultTimeZone: 'Europe/Berlin',
};

function record(fields: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId: 'E100',
    firstName: 'Zoë',
    lastName: 'Ångström',
    preferredName: null,
    personalEmail: 'zoe@example.org',
    mobilePhone: null,
    birthDate: null,
    department: 'Sales',
    title: 'Account Executive',
    costCenter: 'CC-1',
    location: 'Berlin',
    timeZone: null,
    managerId: 'E1',
    workerType: 'employee',
    status: null,
    hireDate: '2020-01-01',
    terminationDate: null,
    attributes: { badge: 'blue' },
    ...fields,
  };
}

function stored(fields: Partial<StoredPerson> = {}): StoredPerson {
  return { ...record(), id: 'p-1', currentStatus: 'active', ...fields };
}

const terminated = (fields: Partial<StoredPerson> = {}) =>
  stored({ status: 'terminated', terminationDate: '2026-01-31', currentStatus: 'terminated', ...fields });

interface Case {
  name: string;
  before: StoredPerson | null;
  after: HrRecord;
  match?: { strong: boolean };
  expected: DetectedEvent[];
}

const E = (
  type: DetectedEvent['type'],
  rest: Omit<DetectedEvent, 'type' | 'employeeId'> = {},
  id = 'E100',
) => ({
  type,
  employeeId: id,
  ...rest,
});

const cases: Case[] = [
  // ---- joiners
  {
    name: 'joiner with a past hire date: now, every non-null field',
    before: null,
    after: record({ mobilePhone: '+491701234567' }),
    expected: [
      E('joiner', {
        changes: {
          employee_id: { from: null, to: 'E100' },
          first_name: { from: null, to: 'Zoë' },
          last_name: { from: null, to: 'Ångström' },
          personal_email: { from: null, to: 'zoe@example.org' },
          mobile_phone: { from: null, to: '+491701234567' },
          department: { from: null, to: 'Sales' },
          title: { from: null, to: 'Account Executive' },
          cost_center: { from: null, to: 'CC-1' },
          location: { from: null, to: 'Berlin' },
          manager_id: { from: null, to: 'E1' },
          worker_type: { from: null, to: 'employee' },
          hire_date: { from: null, to: '2020-01-01' },
          'attributes.badge': { from: null, to: 'blue' },
        },
      }),
    ],
  },
  {
    name: 'future joiner: hire date − lead time, 00:00 in the default zone',
    before: null,
    after: record({ hireDate: '2026-07-01', attributes: {}, personalEmail: null }),
    expected: [
      E('joiner', {
        changes: {
          employee_id: { from: null, to: 'E100' },
          first_name: { from: null, to: 'Zoë' },
          last_name: { from: null, to: 'Ångström' },
          department: { from: null, to: 'Sales' },
          title: { from: null, to: 'Account Executive' },
          cost_center: { from: null, to: 'CC-1' },
          location: { from: null, to: 'Berlin' },
          manager_id: { from: null, to: 'E1' },
          worker_type: { from: null, to: 'employee' },
          hire_date: { from: null, to: '2026-07-01' },
        },
        effectiveAt: '2026-06-23T22:00:00.000Z',
      }),
    ],
  },
  {
    name: 'future joiner in their own zone',
    before: null,
    after: record({ hireDate: '2026-07-01', timeZone: 'America/New_York' }),
    expected: [{ ...E('joiner'), effectiveAt: '2026-06-24T04:00:00.000Z' }],
  },
  {
    name: 'joiner inside the lead time: now',
    before: null,
    after: record({ hireDate: '2026-06-18' }),
    expected: [E('joiner')],
  },
  {
    name: 'new record already terminated by HR: nothing',
    before: null,
    after: record({ status: 'terminated' }),
    expected: [],
  },
  {
    name: 'new record whose termination has passed: nothing',
    before: null,
    after: record({ terminationDate: '2026-06-01' }),
    expected: [],
  },
  {
    name: 'new contractor with an end date: joiner and a scheduled leaver',
    before: null,
    after: record({ workerType: 'contractor', terminationDate: '2026-12-31' }),
    expected: [
      E('joiner'),
      E('leaver', {
        changes: { termination_date: { from: null, to: '2026-12-31' } },
        effectiveAt: '2026-12-31T22:59:59.000Z',
      }),
    ],
  },

  // ---- no change
  { name: 'identical: nothing', before: stored(), after: record(), expected: [] },
  {
    name: 'identical while the stored status moved on (prehire → active by date): nothing',
    before: stored({ currentStatus: 'prehire' }),
    after: record(),
    expected: [],
  },

  // ---- movers, names, conversions, attributes
  {
    name: 'mover: only the mover fields',
    before: stored(),
    after: record({ department: 'Marketing', managerId: 'E2' }),
    expected: [
      E('mover', {
        changes: { department: { from: 'Sales', to: 'Marketing' }, manager_id: { from: 'E1', to: 'E2' } },
      }),
    ],
  },
  {
    name: 'mover and name change together, in EVENT_TYPES order',
    before: stored(),
    after: record({ lastName: 'Ångström-Berg', title: 'Team Lead', preferredName: 'Zo' }),
    expected: [
      E('mover', { changes: { title: { from: 'Account Executive', to: 'Team Lead' } } }),
      E('name_change', {
        changes: {
          last_name: { from: 'Ångström', to: 'Ångström-Berg' },
          preferred_name: { from: null, to: 'Zo' },
        },
      }),
    ],
  },
  {
    name: 'conversion',
    before: stored(),
    after: record({ workerType: 'contractor' }),
    expected: [E('conversion', { changes: { worker_type: { from: 'employee', to: 'contractor' } } })],
  },
  {
    name: 'attribute change: personal data, zone, hire date and free-form attributes in one event',
    before: stored({ attributes: { badge: 'blue', desk: '4.12' } }),
    after: record({
      personalEmail: 'zoe@example.com',
      mobilePhone: '+491701234567',
      birthDate: '1990-05-01',
      timeZone: 'Europe/Stockholm',
      hireDate: '2020-02-01',
      attributes: { badge: 'red', parking: 'P3' },
    }),
    expected: [
      E('attribute_change', {
        changes: {
          personal_email: { from: 'zoe@example.org', to: 'zoe@example.com' },
          mobile_phone: { from: null, to: '+491701234567' },
          birth_date: { from: null, to: '1990-05-01' },
          time_zone: { from: null, to: 'Europe/Stockholm' },
          hire_date: { from: '2020-01-01', to: '2020-02-01' },
          'attributes.badge': { from: 'blue', to: 'red' },
          'attributes.desk': { from: '4.12', to: null },
          'attributes.parking': { from: null, to: 'P3' },
        },
      }),
    ],
  },
  {
    name: 'HR starts sending status active: an attribute change, not a lifecycle event',
    before: stored(),
    after: record({ status: 'active' }),
    expected: [E('attribute_change', { changes: { status: { from: null, to: 'active' } } })],
  },

  // ---- leavers
  {
    name: 'leaver with a date: end of that day in the person zone',
    before: stored(),
    after: record({ terminationDate: '2026-10-25' }),
    expected: [
      E('leaver', {
        changes: { termination_date: { from: null, to: '2026-10-25' } },
        effectiveAt: '2026-10-25T22:59:59.000Z',
      }),
    ],
  },
  {
    name: 'leaver with an instant',
    before: stored(),
    after: record({ terminationDate: '2026-07-01T15:00:00.000Z' }),
    expected: [
      E('leaver', {
        changes: { termination_date: { from: null, to: '2026-07-01T15:00:00.000Z' } },
        effectiveAt: '2026-07-01T15:00:00.000Z',
      }),
    ],
  },
  {
    name: 'leaver with a date already past: still dated',
    before: stored({ timeZone: 'America/New_York' }),
    after: record({ terminationDate: '2026-06-01', timeZone: 'America/New_York' }),
    expected: [
      E('leaver', {
        changes: { termination_date: { from: null, to: '2026-06-01' } },
        effectiveAt: '2026-06-02T03:59:59.000Z',
      }),
    ],
  },
  {
    name: 'rescheduled termination: a new leaver at the new date',
    before: stored({ terminationDate: '2026-12-31' }),
    after: record({ terminationDate: '2026-09-30' }),
    expected: [
      E('leaver', {
        changes: { termination_date: { from: '2026-12-31', to: '2026-09-30' } },
        effectiveAt: '2026-09-30T21:59:59.000Z',
      }),
    ],
  },
  {
    name: 'status terminated only: leaver now',
    before: stored(),
    after: record({ status: 'terminated' }),
    expected: [E('leaver', { changes: { status: { from: null, to: 'terminated' } } })],
  },
  {
    name: 'leaver from leave: no leave_end',
    before: stored({ status: 'on_leave', currentStatus: 'on_leave' }),
    after: record({ status: 'terminated', terminationDate: '2026-06-30' }),
    expected: [
      E('leaver', {
        changes: {
          termination_date: { from: null, to: '2026-06-30' },
          status: { from: 'on_leave', to: 'terminated' },
        },
        effectiveAt: '2026-06-30T21:59:59.000Z',
      }),
    ],
  },
  {
    name: 'termination date removed: an attribute change (the pipeline cancels the scheduled leaver)',
    before: stored({ terminationDate: '2026-12-31' }),
    after: record(),
    expected: [E('attribute_change', { changes: { termination_date: { from: '2026-12-31', to: null } } })],
  },
  {
    name: 'leaver, mover and conversion in one row',
    before: stored(),
    after: record({
      terminationDate: '2026-12-31',
      department: 'Ops',
      workerType: 'contractor',
      birthDate: '1990-01-01',
    }),
    expected: [
      E('mover', { changes: { department: { from: 'Sales', to: 'Ops' } } }),
      E('leaver', {
        changes: { termination_date: { from: null, to: '2026-12-31' } },
        effectiveAt: '2026-12-31T22:59:59.000Z',
      }),
      E('conversion', { changes: { worker_type: { from: 'employee', to: 'contractor' } } }),
      E('attribute_change', { changes: { birth_date: { from: null, to: '1990-01-01' } } }),
    ],
  },
  {
    name: 'already terminated, date corrected: an attribute change, no second leaver',
    before: terminated(),
    after: record({ status: 'terminated', terminationDate: '2026-01-30' }),
    expected: [
      E('attribute_change', { changes: { termination_date: { from: '2026-01-31', to: '2026-01-30' } } }),
    ],
  },

  // ---- rehires
  {
    name: 'rehire with a future start: dated like a joiner',
    before: terminated(),
    after: record({ status: 'active', hireDate: '2026-08-01', department: 'Support' }),
    expected: [
      E('mover', { changes: { department: { from: 'Sales', to: 'Support' } } }),
      E('rehire', {
        changes: {
          status: { from: 'terminated', to: 'active' },
          hire_date: { from: '2020-01-01', to: '2026-08-01' },
          termination_date: { from: '2026-01-31', to: null },
        },
        effectiveAt: '2026-07-24T22:00:00.000Z',
      }),
    ],
  },
  {
    name: 'rehire now (hire date past), with a new end date: rehire and a scheduled leaver',
    before: terminated(),
    after: record({ status: 'active', hireDate: '2026-06-01', terminationDate: '2026-12-31' }),
    expected: [
      E('leaver', {
        changes: { termination_date: { from: '2026-01-31', to: '2026-12-31' } },
        effectiveAt: '2026-12-31T22:59:59.000Z',
      }),
      E('rehire', {
        changes: {
          status: { from: 'terminated', to: 'active' },
          hire_date: { from: '2020-01-01', to: '2026-06-01' },
        },
      }),
    ],
  },
  {
    name: 'strong match under a new employee id: rehire carrying the id change',
    before: terminated({ employeeId: 'E050' }),
    after: record({ hireDate: '2026-07-01', terminationDate: null }),
    match: { strong: true },
    expected: [
      E('rehire', {
        changes: {
          employee_id: { from: 'E050', to: 'E100' },
          status: { from: 'terminated', to: null },
          hire_date: { from: '2020-01-01', to: '2026-07-01' },
          termination_date: { from: '2026-01-31', to: null },
        },
        effectiveAt: '2026-06-23T22:00:00.000Z',
      }),
    ],
  },
  {
    name: 'terminated person still terminated: no rehire',
    before: terminated(),
    after: record({ status: 'terminated', terminationDate: '2026-01-31', title: 'Former title' }),
    expected: [E('mover', { changes: { title: { from: 'Account Executive', to: 'Former title' } } })],
  },

  // ---- leave
  {
    name: 'leave starts',
    before: stored(),
    after: record({ status: 'on_leave' }),
    expected: [E('leave_start', { changes: { status: { from: null, to: 'on_leave' } } })],
  },
  {
    name: 'leave ends',
    before: stored({ status: 'on_leave', currentStatus: 'on_leave' }),
    after: record({ status: 'active' }),
    expected: [E('leave_end', { changes: { status: { from: 'on_leave', to: 'active' } } })],
  },
  {
    name: 'leave ends with HR clearing the status, plus a name change',
    before: stored({ status: 'on_leave', currentStatus: 'on_leave' }),
    after: record({ firstName: 'Zoe' }),
    expected: [
      E('leave_end', { changes: { status: { from: 'on_leave', to: null } } }),
      E('name_change', { changes: { first_name: { from: 'Zoë', to: 'Zoe' } } }),
    ],
  },
];

describe('detectEvents', () => {
  it.each(cases)('$name', ({ before, after, match, expected }) => {
    const events = detectEvents(before, after, opts, match);
    // Cases written as E('joiner') without changes only check type, id and effectiveAt.
    const comparable = events.map((e, i) =>
      expected[i] !== undefined && !('changes' in (expected[i] as object)) ? { ...e, changes: undefined } : e,
    );
    expect(comparable).toEqual(expected.map((e) => ('changes' in e ? e : { ...e, changes: undefined })));
  });

  it.each(cases.filter((c) => c.before !== null))(
    'reports each change exactly once: $name',
    ({ before, after, match }) => {
      const events = detectEvents(before, after, opts, match);
      const keys = events.flatMap((e) => Object.keys(e.changes ?? {}));
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.sort()).toEqual(Object.keys(diffRecords(before, after)).sort());
    },
  );

  it('orders events like EVENT_TYPES', () => {
    for (const c of cases) {
      const order = detectEvents(c.before, c.after, opts, c.match).map((e) => EVENT_TYPES.indexOf(e.type));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('is deterministic and does not mutate its inputs', () => {
    const before = stored({ attributes: { b: '2', a: '1' } });
    const after = record({ department: 'Ops', attributes: { a: '1', c: '3' } });
    const copies = JSON.stringify([before, after]);
    const first = detectEvents(before, after, opts);
    expect(detectEvents(before, after, opts)).toEqual(first);
    expect(JSON.stringify([before, after])).toBe(copies);
    expect(first.map((e) => e.type)).toEqual(['mover', 'attribute_change']);
  });

  it('depends on the injected clock only', () => {
    const after = record({ hireDate: '2026-07-01' });
    expect(detectEvents(null, after, opts)[0]?.effectiveAt).toBe('2026-06-23T22:00:00.000Z');
    // A week later the lead time has begun: the joiner is due now.
    expect(
      detectEvents(null, after, { ...opts, now: new Date('2026-06-25T00:00:00Z') })[0]?.effectiveAt,
    ).toBeUndefined();
  });
});
