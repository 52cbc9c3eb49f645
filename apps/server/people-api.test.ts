import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { transaction } from '../../src/db/index.ts';
import { createToken } from '../../src/tokens/index.ts';
import { startTestApi, type TestApi } from '../../src/testing/api.ts';
import { testContext } from '../../src/testing/context.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/db.ts';

/**
 * People and HR imports over HTTP on real PostgreSQL: upload → preview → apply, the errors CSV, the REST path
 * (create, update, terminate) through the same pipeline, permissions on personal data, duplicates and merge.
 */
let database: TestDatabase;
let api: TestApi;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

async function token(name: string, scopes: string[]): Promise<string> {
  const r = await transaction(database, (tx) => createToken(tx, testContext(), { name, scopes }));
  return r.token;
}

function call(who: string, method: string, url: string, body?: unknown, contentType?: string) {
  return app.inject({
    method: method as 'GET',
    url,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      ...(contentType ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { payload: body as string } : {}),
  });
}

const CSV = [
  'Employee ID;First Name;Last Name;Personal Email;Department;Hire Date;Shoe Size',
  'A1;Zoë;Ångström;zoe@home.example;Engineering;2026-01-05;38',
  'A2;Łukasz;Żółć;lukasz@home.example;Engineering;2026-01-05;44',
  'A3;Bad;Date;bad@home.example;Sales;2026-31-01;40',
  'A4;No;Mail;not-an-email;Sales;2026-01-05;41',
].join('\r\n');

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApi(database);
  app = api.app;
  tokens.admin = await token('admin', ['admin']);
  tokens.reader = await token('reader', ['people:read', 'hr:read']);
  tokens.hr = await token('hr feed', [
    'people:read',
    'people:write',
    'people:personal',
    'hr:read',
    'hr:write',
  ]);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

describe('HR upload → preview → apply', () => {
  let importId = '';
  it('previews an upload without changing people, with every bad row named', async () => {
    const r = await call('hr', 'POST', '/api/v1/hr/imports?source=hr&fileName=people.csv', CSV, 'text/csv');
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    importId = body.importId;
    expect(body).toMatchObject({
      state: 'previewed',
      rows: 4,
      valid: 2,
      source: { name: 'hr', created: true },
    });
    expect(body.events.map((e: { type: string; employeeId: string }) => `${e.type}:${e.employeeId}`)).toEqual(
      ['joiner:A1', 'joiner:A2'],
    );
    expect(
      body.errors.map((e: { row: number; column: string; code: string }) => [e.row, e.column, e.code]),
    ).toEqual([
      [4, 'Hire Date', 'bad_date'],
      [5, 'Personal Email', 'bad_email'],
    ]);
    const people = await call('hr', 'GET', '/api/v1/people');
    expect(people.json().items).toEqual([]);
  });

  it('downloads the errors as CSV a spreadsheet opens', async () => {
    const r = await call('reader', 'GET', `/api/v1/hr/imports/${importId}/errors.csv`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/csv/);
    expect(r.headers['content-disposition']).toMatch(/attachment/);
    const lines = r.body.trim().split('\r\n');
    expect(lines[0]).toBe('row,column,value,code,message');
    expect(lines[1]).toMatch(/^"4","Hire Date","2026-31-01","bad_date",".*2026-31-01/);
    expect(lines[2]).toMatch(/^"5","Personal Email","not-an-email","bad_email"/);
  });

  it('applies the preview; a second apply is refused', async () => {
    const denied = await call('reader', 'POST', `/api/v1/hr/imports/${importId}/apply`);
    expect(denied.statusCode).toBe(403);
    const r = await call('hr', 'POST', `/api/v1/hr/imports/${importId}/apply`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ state: 'applied', applied: { created: 2 } });
    const again = await call('hr', 'POST', `/api/v1/hr/imports/${importId}/apply`);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('hr_import_not_pending');
    const list = await call('reader', 'GET', '/api/v1/hr/imports');
    expect(list.json().items[0]).toMatchObject({ id: importId, state: 'applied', fileName: 'people.csv' });
  });

  it('lists and searches people; free-form columns become attributes; names are transliterated', async () => {
    const r = await call('reader', 'GET', `/api/v1/people?q=${encodeURIComponent('ångström')}`);
    const folded = await call('reader', 'GET', '/api/v1/people?q=zoe%20angstrom');
    expect(folded.json().items.map((p: { employeeId: string }) => p.employeeId)).toEqual(['A1']);
    expect(r.statusCode, r.body).toBe(200);
    const [zoe] = r.json().items;
    expect(zoe).toMatchObject({
      firstName: 'Zoë',
      username: 'zoe.angstrom',
      attributes: { 'Shoe Size': '38' },
      status: 'active',
      personal: null, // the reader may not see personal data
    });
    const l = await call('hr', 'GET', '/api/v1/people?q=lukasz');
    expect(l.json().items.map((p: { username: string }) => p.username)).toEqual(['lukasz.zolc']);
    expect(l.json().items[0].personal).toEqual({
      personalEmail: 'lukasz@home.example',
      mobilePhone: null,
      birthDate: null,
    });
    const bad = await call('reader', 'GET', '/api/v1/people?status=fired');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/fired/);
  });

  it('refuses an empty upload and a header without an employee id, by name', async () => {
    const empty = await call('hr', 'POST', '/api/v1/hr/imports?source=hr', '', 'text/csv');
    expect(empty.statusCode).toBe(400);
    const noId = await call('hr', 'POST', '/api/v1/hr/imports?source=hr', 'name,department\nx,y', 'text/csv');
    expect(noId.statusCode).toBe(400);
    expect(noId.json().code).toBe('hr_header_invalid');
    expect(noId.body).toMatch(/employee_id/);
  });
});

describe('the REST path: create, update, terminate through the same pipeline', () => {
  let id = '';
  it('creates a person with a joiner event; a second create of the same id is a conflict', async () => {
    const body = {
      employee_id: 'R1',
      first_name: 'Ravi',
      last_name: 'Rao',
      personal_email: 'ravi@home.example',
      department: 'Finance',
      hire_date: '2025-02-01',
    };
    const r = await call('hr', 'POST', '/api/v1/people?source=api', JSON.stringify(body), 'application/json');
    expect(r.statusCode, r.body).toBe(201);
    id = r.json().person.id;
    expect(r.json().events.map((e: { type: string }) => e.type)).toEqual(['joiner']);
    const dup = await call(
      'hr',
      'POST',
      '/api/v1/people?source=api',
      JSON.stringify(body),
      'application/json',
    );
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('person_exists');
  });

  it('names the field and the reason for bad input', async () => {
    const r = await call(
      'hr',
      'POST',
      '/api/v1/people?source=api',
      JSON.stringify({ employee_id: 'R2', first_name: 'X', last_name: 'Y', hire_date: '01/02/2025' }),
      'application/json',
    );
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('person_invalid');
    expect(r.body).toMatch(/hire_date/);
    const unknown = await call(
      'hr',
      'PATCH',
      `/api/v1/people/${id}`,
      JSON.stringify({ shoe: '1' }),
      'application/json',
    );
    expect(unknown.statusCode).toBe(400);
  });

  it('a department change is a mover; terminate schedules a leaver; both in the history', async () => {
    const m = await call(
      'hr',
      'PATCH',
      `/api/v1/people/${id}`,
      JSON.stringify({ department: 'Legal' }),
      'application/json',
    );
    expect(m.statusCode, m.body).toBe(200);
    expect(m.json().events).toEqual([
      { type: 'mover', employeeId: 'R1', changes: { department: { from: 'Finance', to: 'Legal' } } },
    ]);
    const t = await call(
      'hr',
      'POST',
      `/api/v1/people/${id}/terminate`,
      JSON.stringify({ at: '2099-12-31' }),
      'application/json',
    );
    expect(t.statusCode, t.body).toBe(200);
    expect(t.json().events[0]).toMatchObject({ type: 'leaver', effectiveAt: '2099-12-31T23:59:59.000Z' });
    const p = await call('reader', 'GET', `/api/v1/people/${id}`);
    // Due events are pending until the lifecycle worker has run them (this API runs workers), then done.
    const due = (s: string) => (s === 'pending' || s === 'done' ? 'due' : s);
    expect(p.json().events.map((e: { type: string; state: string }) => `${e.type}:${due(e.state)}`)).toEqual([
      'leaver:scheduled',
      'mover:due',
      'joiner:due',
    ]);
    const h = await call('reader', 'GET', `/api/v1/people/${id}/history`);
    const actions = h.json().items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['person.updated', 'person.updated', 'person.created']);
    // The reader has no people:personal permission: personal values are hidden in the history too.
    expect(JSON.stringify(h.json())).not.toContain('ravi@home.example');
    expect(JSON.stringify(h.json())).toContain('[hidden]');
    const full = await call('admin', 'GET', `/api/v1/people/${id}/history`);
    expect(JSON.stringify(full.json())).toContain('ravi@home.example');
  });
});

describe('duplicates and merge', () => {
  it('flags one human under two ids (same personal email, similar name) and merges them, audited', async () => {
    const mk = (emp: string, first: string) =>
      call(
        'hr',
        'POST',
        '/api/v1/people?source=api',
        JSON.stringify({
          employee_id: emp,
          first_name: first,
          last_name: 'Okonkwo',
          personal_email: 'chidi@home.example',
        }),
        'application/json',
      );
    const a = (await mk('D1', 'Chidi')).json().person.id;
    const b = (await mk('D2', 'Chidi')).json().person.id;
    const d = await call('reader', 'GET', '/api/v1/people/duplicates');
    const pair = d
      .json()
      .items.find((x: { a: { id: string }; b: { id: string } }) => [x.a.id, x.b.id].includes(b));
    expect(pair).toBeDefined();
    expect(pair.reasons).toContain('same personal email');
    const m = await call(
      'hr',
      'POST',
      '/api/v1/people/merge',
      JSON.stringify({ keep: a, drop: b }),
      'application/json',
    );
    expect(m.statusCode, m.body).toBe(200);
    const again = await call(
      'hr',
      'POST',
      '/api/v1/people/merge',
      JSON.stringify({ keep: a, drop: b }),
      'application/json',
    );
    expect(again.statusCode).toBe(409);
    const kept = await call('reader', 'GET', `/api/v1/people/${a}`);
    expect(kept.json().mergedFrom).toEqual([{ id: b, employeeId: 'D2' }]);
    const h = await call('reader', 'GET', `/api/v1/people/${a}/history`);
    const actions = h
      .json()
      .items.map(
        (e: { action: string; subject: { id: string } }) => `${e.action}@${e.subject.id === a ? 'a' : 'b'}`,
      );
    expect(actions).toEqual(
      expect.arrayContaining(['person.merged@a', 'person.merged_away@b', 'person.created@b']),
    );
    const list = await call('reader', 'GET', '/api/v1/people?q=okonkwo');
    expect(list.json().items.map((p: { id: string }) => p.id)).toEqual([a]);
    const open = await call('reader', 'GET', '/api/v1/people/duplicates');
    expect(open.json().items.find((x: { id: string }) => x.id === pair.id)).toBeUndefined();
  });
});

describe('names are stable; a legal name change offers a rename', () => {
  it('keeps the username when a person moves, offers a rename after a name change, and audits the rename', async () => {
    const c = await call(
      'hr',
      'POST',
      '/api/v1/people?source=api',
      JSON.stringify({ employee_id: 'N1', first_name: 'Maria', last_name: 'Silva' }),
      'application/json',
    );
    const id = c.json().person.id;
    expect(c.json().person.username).toBe('maria.silva');
    const none = await call('reader', 'GET', `/api/v1/people/${id}/rename`);
    expect(none.json()).toEqual({ offer: null });
    const moved = await call(
      'hr',
      'PATCH',
      `/api/v1/people/${id}`,
      JSON.stringify({ department: 'Ops' }),
      'application/json',
    );
    expect(moved.json().person.username).toBe('maria.silva');
    const renamed = await call(
      'hr',
      'PATCH',
      `/api/v1/people/${id}`,
      JSON.stringify({ last_name: 'Costa' }),
      'application/json',
    );
    expect(renamed.json().events.map((e: { type: string }) => e.type)).toEqual(['name_change']);
    expect(renamed.json().person.username).toBe('maria.silva'); // not renamed silently
    const offer = await call('reader', 'GET', `/api/v1/people/${id}/rename`);
    expect(offer.json().offer).toMatchObject({
      username: 'maria.costa',
      workEmail: expect.stringMatching(/^maria\.costa@/),
    });
    const denied = await call('reader', 'POST', `/api/v1/people/${id}/rename`);
    expect(denied.statusCode).toBe(403);
    const ok = await call('hr', 'POST', `/api/v1/people/${id}/rename`);
    expect(ok.statusCode, ok.body).toBe(200);
    const p = await call('reader', 'GET', `/api/v1/people/${id}`);
    expect(p.json().person).toMatchObject({ username: 'maria.costa', displayName: 'Maria Costa' });
    const twice = await call('hr', 'POST', `/api/v1/people/${id}/rename`);
    expect(twice.statusCode).toBe(409);
    // The old name stays reserved (embargo): a new Maria Silva gets a suffix.
    const other = await call(
      'hr',
      'POST',
      '/api/v1/people?source=api',
      JSON.stringify({ employee_id: 'N2', first_name: 'Maria', last_name: 'Silva' }),
      'application/json',
    );
    expect(other.json().person.username).toBe('maria.silva2');
    const h = await call('reader', 'GET', `/api/v1/people/${id}/history`);
    expect(h.json().items[0].action).toBe('person.renamed');
  });
});
