import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../kit/errors.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { parseFilter, type AttrPath } from './filter.ts';
import { SqlParams, compileSql, likeLiteral, type ResolvedAttribute } from './sql.ts';

/**
 * SCIM filters compiled to SQL and run on real PostgreSQL over a small users table: the RFC 7644 Figure 2
 * filters return exactly the right users, and filters crafted to inject SQL (quotes, backslashes, "or 1=1",
 * LIKE wildcards, unicode) return only what they literally ask for.
 */
let database: TestDatabase;

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const string = (sql: string, caseExact = false): ResolvedAttribute => ({
  kind: 'scalar',
  sql,
  type: 'string',
  caseExact,
});
const multi = (sql: string): ResolvedAttribute => ({
  kind: 'multi',
  sql,
  subAttributes: {
    value: { type: 'string', caseExact: false },
    type: { type: 'string', caseExact: false },
    primary: { type: 'boolean', caseExact: false },
  },
});

const ATTRIBUTES: Record<string, ResolvedAttribute> = {
  id: string('id::text', true),
  username: string('user_name'),
  displayname: string('display_name'),
  usertype: string('user_type'),
  title: string('title'),
  active: { kind: 'scalar', sql: 'active', type: 'boolean', caseExact: false },
  'name.familyname': string('family_name'),
  'meta.lastmodified': { kind: 'scalar', sql: 'last_modified', type: 'datetime', caseExact: false },
  emails: multi('emails'),
  ims: multi('ims'),
  schemas: multi('schemas'),
};

function resolve(p: AttrPath): ResolvedAttribute | undefined {
  if (p.schema && p.schema.toLowerCase() !== CORE.toLowerCase()) return undefined;
  const key = `${p.attribute}${p.subAttribute ? `.${p.subAttribute}` : ''}`.toLowerCase();
  return ATTRIBUTES[key];
}

async function ids(filter: string, lenient = false): Promise<number[]> {
  const params = new SqlParams();
  const where = compileSql(parseFilter(filter, { lenient }), resolve, params);
  const r = await database.pool.query<{ id: number }>(
    `select id from scim_users where ${where} order by id`,
    params.values,
  );
  return r.rows.map((x) => x.id);
}

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`create table scim_users (id int primary key, user_name text, display_name text,
    user_type text, title text, active boolean, family_name text, last_modified timestamptz, emails jsonb, ims jsonb,
    schemas jsonb)`);
  const rows: unknown[][] = [
    [
      1,
      'bjensen',
      'Babs Jensen',
      'Employee',
      'Tour Guide',
      true,
      'Jensen',
      '2011-05-13T04:42:34Z',
      [{ type: 'work', value: 'bjensen@example.com', primary: true }],
      [],
      [{ value: CORE }, { value: ENTERPRISE }],
    ],
    [
      2,
      'jsmith',
      'Jim Smith',
      'Intern',
      null,
      true,
      "O'Malley",
      '2012-01-01T00:00:00Z',
      [{ type: 'home', value: 'js@example.org' }],
      [],
      [{ value: CORE }],
    ],
    [
      3,
      "x' or 1=1 --",
      'Weird',
      'Employee',
      '',
      false,
      '100%_sure\\',
      '2010-01-01T00:00:00Z',
      [{ type: 'work', value: 'w@foo.com' }],
      [{ type: 'xmpp', value: 'a@foo.com' }],
      [{ value: CORE }],
    ],
    [4, 'zoë', 'Zoë Ångström', null, null, null, 'Ångström', null, [], null, [{ value: CORE }]],
    [
      5,
      'Jane',
      'Jane Roe',
      'Employee',
      'CEO',
      true,
      'Roe',
      '2011-05-13T04:42:34Z',
      [
        { type: 'work', value: 'jane@example.com' },
        { type: 'home', value: 'jane@home.example.org' },
      ],
      [],
      [{ value: CORE }],
    ],
  ];
  for (const r of rows)
    await database.pool.query(
      `insert into scim_users values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb)`,
      r.map((v, i) => (i >= 8 && v !== null ? JSON.stringify(v) : v)),
    );
});
afterAll(async () => {
  await database?.drop();
});

describe('SCIM filters as SQL (real PostgreSQL)', () => {
  it('returns exactly the right users for every RFC 7644 Figure 2 filter', async () => {
    const cases: [string, number[]][] = [
      ['userName eq "bjensen"', [1]],
      ['name.familyName co "O\'Malley"', [2]],
      ['userName sw "J"', [2, 5]],
      [`${CORE}:userName sw "J"`, [2, 5]],
      ['title pr', [1, 5]],
      ['meta.lastModified gt "2011-05-13T04:42:34Z"', [2]],
      ['meta.lastModified ge "2011-05-13T04:42:34Z"', [1, 2, 5]],
      ['meta.lastModified lt "2011-05-13T04:42:34Z"', [3]],
      ['meta.lastModified le "2011-05-13T04:42:34Z"', [1, 3, 5]],
      ['title pr and userType eq "Employee"', [1, 5]],
      ['title pr or userType eq "Intern"', [1, 2, 5]],
      [`schemas eq "${ENTERPRISE}"`, [1]],
      ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', [1, 5]],
      ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', [4]],
      ['userType eq "Employee" and (emails.type eq "work")', [1, 3, 5]],
      ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', [1, 5]],
      [
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        [1, 3, 5],
      ],
    ];
    for (const [filter, expected] of cases) expect(await ids(filter), filter).toEqual(expected);
  });

  it('treats values as values: quotes, "or 1=1", comments, backslashes and LIKE wildcards match only themselves', async () => {
    expect(await ids(`userName eq "x' or 1=1 --"`)).toEqual([3]);
    expect(await ids(`userName eq "x\\" or 1=1 --"`)).toEqual([]);
    expect(await ids(`userName eq "' or '1'='1"`)).toEqual([]);
    expect(await ids(`userName eq "bjensen'; drop table scim_users; --"`)).toEqual([]);
    expect(await ids('name.familyName co "%"')).toEqual([3]);
    expect(await ids('name.familyName co "_"')).toEqual([3]);
    expect(await ids('name.familyName ew "\\\\"')).toEqual([3]);
    expect(await ids('userName sw "%"')).toEqual([]);
    expect(await ids('displayName co "ångström"')).toEqual([4]);
    expect(await ids('userName eq "ZOë"')).toEqual([4]);
    expect((await database.pool.query('select count(*)::int as n from scim_users')).rows[0].n).toBe(5);
    expect(likeLiteral('50%_a\\b')).toBe('50\\%\\_a\\\\b');
  });

  it('compares case-insensitively unless the attribute is case-exact; booleans, null and presence', async () => {
    expect(await ids('USERNAME EQ "BJENSEN"')).toEqual([1]);
    expect(await ids('id eq "1"')).toEqual([1]);
    expect(await ids('active eq true')).toEqual([1, 2, 5]);
    expect(await ids('active ne true')).toEqual([3, 4]);
    expect(await ids('userType eq null')).toEqual([4]);
    expect(await ids('not (userType eq "Employee")')).toEqual([2, 4]);
    expect(await ids('ims pr')).toEqual([3]);
    expect(await ids('emails[primary eq true]')).toEqual([1]);
  });

  it('refuses filters on what does not exist or does not fit, as invalidFilter', async () => {
    const refused = async (filter: string) => {
      try {
        await ids(filter);
      } catch (e) {
        expect(isGatehouseError(e, 'scim_invalid_filter')).toBe(true);
        return (e as Error).message;
      }
      throw new Error(`${filter} was accepted`);
    };
    expect(await refused('nickName eq "x"')).toBe('nickName eq "x": no attribute "nickName"');
    expect(await refused('active co "t"')).toBe(
      'active co "t": a true/false attribute compares with true or false',
    );
    expect(await refused('active gt true')).toMatch(/takes only eq and ne/);
    expect(await refused('meta.lastModified gt "yesterday"')).toMatch(/compares with a date-time/);
    expect(await refused('userName[value eq "x"]')).toMatch(/is not multi-valued/);
    expect(await refused('emails[kind eq "x"]')).toMatch(/no sub-attribute "kind" \(value, type, primary\)/);
    expect(await refused('title gt null')).toMatch(/cannot compare with null/);
    expect(await refused(`${ENTERPRISE}:userName eq "x"`)).toMatch(/no attribute/);
  });
});
