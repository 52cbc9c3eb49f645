/**
 * For provisioning tests: a database with the job system working (every queue, the secret box that sealed the
 * targets' credentials), HR imports, and waits for change sets to settle.
 */
import { randomUUID } from 'node:crypto';
import { transaction } from '../db/index.ts';
import { runImport } from '../hr/index.ts';
import { Jobs } from '../jobs/index.ts';
import { systemClock } from '../kit/clock.ts';
import type { CommandContext } from '../kit/context.ts';
import { silentLogger } from '../kit/log.ts';
import { secretBox, type SecretBox } from '../kit/secret-box.ts';
import {
  checkDocument,
  discoverEntitlements,
  savePolicy,
  type PolicyDocumentInput,
} from '../policy/index.ts';
import { openTargetForTest } from '../targets/test-support.ts';
import { ALL_QUEUES } from '../runtime/queues.ts';
import { createTarget } from '../targets/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/db.ts';
import { testContext } from '../testing/context.ts';
import { eventually } from '../testing/processes.ts';
import { approveChangeSet, getChangeSet, listChangeSets, type ChangeSetView } from './changesets.ts';

export const HR_HEADER =
  'employee_id,first_name,last_name,preferred_name,personal_email,mobile_phone,department,title,cost_center,location,time_zone,manager_id,worker_type,status,hire_date,termination_date';

/** One HR CSV row (after HR_HEADER) of an employee in Berlin; only what tests vary is a parameter. */
export function hrRow(
  id: string,
  first: string,
  last: string,
  opts: {
    status?: string;
    term?: string;
    dept?: string;
    title?: string;
    manager?: string;
    personalEmail?: string;
  } = {},
): string {
  return [
    id,
    first,
    last,
    '',
    opts.personalEmail ?? '',
    '',
    opts.dept ?? 'Sales',
    opts.title ?? 'Rep',
    'CC1',
    'Berlin',
    'Europe/Berlin',
    opts.manager ?? '',
    'employee',
    opts.status ?? 'active',
    '2020-01-01',
    opts.term ?? '',
  ].join(',');
}

/** The LDAP account of a person as most tests map it (uid is the naming attribute; employeeNumber correlates). */
export const LDAP_ACCOUNT = {
  namingAttribute: 'uid',
  attributes: {
    uid: 'person.username',
    cn: 'person.displayName',
    sn: 'person.lastName',
    employeeNumber: 'person.employeeId',
  },
};

export interface ProvisioningHarness {
  database: TestDatabase;
  jobs: Jobs;
  secrets: SecretBox;
  ctx(actor?: CommandContext['actor']): CommandContext;
  addTarget(name: string, connector: string, config: Record<string, unknown>): Promise<void>;
  /** Create these groups on a target and read them into the catalog. */
  addGroups(target: string, names: readonly string[]): Promise<void>;
  setPolicy(doc: PolicyDocumentInput): Promise<number>;
  /** Import HR rows (with the header) as the source "workday". */
  importHr(rows: string[]): Promise<void>;
  /** The newest change set after `afterSeq` once it is no longer being applied. */
  settled(afterSeq: number, what: string): Promise<ChangeSetView>;
  /**
   * The change sets after `afterSeq`, oldest first, once there are at least `count` and none is being applied: for
   * a set that leads to another (a manager's new account, then the reports' recompute), whose second may well be
   * done before anyone looks at the first.
   */
  settledAll(afterSeq: number, count: number, what: string): Promise<ChangeSetView[]>;
  lastSeq(): Promise<number>;
  personId(employeeId: string): Promise<string>;
  /** What `reconcileTarget` and other runs take: the database, the secret box, a quiet log, the clock, ids. */
  deps(): {
    database: TestDatabase;
    secrets: SecretBox;
    log: typeof silentLogger;
    clock: CommandContext['clock'];
    ids: () => string;
  };
  /** Approve a change set as a second operator ("Second Pair": four eyes) and wait until it settles. */
  approveAsSecond(set: { id: string; seq: number }, what: string): Promise<ChangeSetView>;
  close(): Promise<void>;
}

/** The key of the harness's secret box (targets' credentials are sealed with it). */
export const KEY = Buffer.alloc(32, 3);

const FINAL = new Set(['applied', 'failed', 'awaiting_approval', 'blocked', 'rejected', 'cancelled']);

export async function provisioningHarness(): Promise<ProvisioningHarness> {
  const database = await createTestDatabase();
  const secrets = secretBox(KEY, 'test');
  const jobs = new Jobs({
    pool: database.pool,
    log: silentLogger,
    clock: systemClock,
    queues: ALL_QUEUES,
    workerId: 'test',
    concurrency: 2,
    pollingIntervalSeconds: 0.5,
    secrets,
  });
  await jobs.start({ work: true });
  const ctx = (actor?: CommandContext['actor']) => testContext(actor ? { actor } : {});
  const h: ProvisioningHarness = {
    database,
    jobs,
    secrets,
    ctx,
    async addTarget(name, connector, config) {
      await transaction(database, (tx) => createTarget(tx, ctx(), { secrets }, { name, connector, config }));
    },
    async addGroups(target, names) {
      const c = await openTargetForTest(database, target, KEY);
      try {
        for (const n of names) await c.create('group', { cn: n });
        await transaction(database, (tx) => discoverEntitlements(tx, ctx(), target, c));
      } finally {
        await c.close();
      }
    },
    async setPolicy(doc) {
      const policy = await checkDocument(database.pool, doc);
      return transaction(database, (tx) => savePolicy(tx, ctx(), policy.document, 'test'));
    },
    async importHr(rows) {
      await runImport({ database, jobs }, ctx(), {
        source: 'workday',
        origin: 'cli',
        fileName: 'hr.csv',
        content: Buffer.from([HR_HEADER, ...rows].join('\n')),
        dryRun: false,
      });
    },
    async settled(afterSeq, what) {
      try {
        return await eventually(
          async () => {
            const { items } = await listChangeSets(database.pool, { limit: 1 });
            const s = items[0];
            return s && s.seq > afterSeq && FINAL.has(s.status) ? s : undefined;
          },
          what,
          90_000,
        );
      } catch (e) {
        // Say what there was instead: the newest change sets and the queues' unfinished jobs.
        const { items } = await listChangeSets(database.pool, { limit: 5 });
        const sets = items.map((s) => `#${s.seq} ${s.status} ${s.trigger} "${s.title}"`).join('; ');
        const open = await database.pool.query<{ name: string; state: string; n: number }>(
          `select name, state, count(*)::int as n from pgboss.job where state not in ('completed', 'cancelled')
           group by 1, 2 order by 1, 2`,
        );
        const queued = open.rows.map((r) => `${r.name} ${r.state} ×${r.n}`).join('; ');
        throw new Error(
          `${(e as Error).message} (after #${afterSeq}). Newest sets: ${sets}. Jobs: ${queued || 'none'}`,
          { cause: e },
        );
      }
    },
    async settledAll(afterSeq, count, what) {
      return eventually(
        async () => {
          const { items } = await listChangeSets(database.pool, { limit: 50 });
          const after = items.filter((s) => s.seq > afterSeq).sort((a, b) => a.seq - b.seq);
          return after.length >= count && after.every((s) => FINAL.has(s.status)) ? after : undefined;
        },
        what,
        90_000,
      );
    },
    async lastSeq() {
      const r = await database.pool.query<{ seq: number | null }>('select max(seq) as seq from change_sets');
      return r.rows[0]?.seq ?? 0;
    },
    async personId(employeeId) {
      const r = await database.pool.query<{ id: string }>('select id from people where employee_id = $1', [
        employeeId,
      ]);
      if (!r.rows[0]) throw new Error(`no person ${employeeId}`);
      return r.rows[0].id;
    },
    deps: () => ({ database, secrets, log: silentLogger, clock: ctx().clock, ids: () => randomUUID() }),
    async approveAsSecond(set, what) {
      await transaction(database, (tx) =>
        approveChangeSet(
          tx,
          ctx({ type: 'operator', id: 'op-2', name: 'Second Pair' }),
          { jobs },
          set.id,
          'checked',
        ),
      );
      return h.settled(set.seq - 1, what);
    },
    async close() {
      await jobs.stop(10_000);
      await database.drop();
    },
  };
  return h;
}

/** A change set's operations as "<kind> <target> <person>" lines, for failure messages and checks. */
export async function opLines(database: TestDatabase, id: string): Promise<string[]> {
  const set = await getChangeSet(database.pool, id);
  return set.ops.map((o) =>
    `${o.status} ${o.kind} ${o.target} ${o.personName ?? ''} ${o.error?.message ?? ''}`.trim(),
  );
}

export const newId = randomUUID;
