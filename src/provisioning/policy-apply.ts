/**
 * Applying a policy (a YAML file or a document from the console): check it with precise problems, show who would
 * gain and who would lose what compared with the policy in force, and — unless it is a dry run — store it as a new
 * version and record the change set that brings every affected person in line.
 */
import type pg from 'pg';
import type { Tx } from '../db/pool.ts';
import { personIdsPage } from '../identities/index.ts';
import type { Jobs } from '../jobs/index.ts';
import type { CommandContext } from '../kit/context.ts';
import { GatehouseError, isGatehouseError } from '../kit/errors.ts';
import {
  getNamingPolicy,
  setNamingPolicy,
  validateNamingPolicy,
  type NamingPolicy,
} from '../naming/index.ts';
import {
  PolicyErrors,
  compilePolicy,
  getPolicy,
  loadCatalog,
  loadPolicy,
  policyDocumentSchema,
  savePolicy,
  type CompiledPolicy,
  type PolicyDocument,
  type PolicyProblem,
} from '../policy/index.ts';
import { locateProblems, readPolicyYaml, writePolicyYaml, type PolicyFile } from '../policy/yaml.ts';
import { draftChangeSet, loadPlanInput, recordChangeSet, type RecordedChangeSet } from './plan.ts';
import { planPeople, type PersonPlan, type PlannedOp } from './planner.ts';

type Q = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const PAGE = 2000;
/** Most gain/loss lines an impact lists (the counts are always complete). */
export const IMPACT_LINES = 1000;

export interface ImpactLine {
  personId: string;
  person: string;
  target: string;
  /** An entitlement key, or "(account)" for the account itself. */
  item: string;
  because?: string;
}

export interface PolicyImpact {
  people: number;
  affected: number;
  gains: ImpactLine[];
  losses: ImpactLine[];
  gainCount: number;
  lossCount: number;
  /** Per item: how many people gain / lose it. */
  byItem: { target: string; item: string; gain: number; lose: number }[];
  /** Operations the change set would run (including attribute changes from new mappings). */
  operations: number;
  truncated: boolean;
}

type Access = Map<string, { because: string }>;

function accessOf(plan: PersonPlan): Access {
  const out: Access = new Map();
  for (const d of plan.desired) {
    if (d.account !== 'present') continue;
    const why = (b: PersonPlan['desired'][number]['because']) =>
      b
        .map((x) => (x.kind === 'rule' ? `rule "${x.rule}" → ${x.role}` : `assignment → ${x.role}`))
        .join('; ');
    out.set(`${d.targetName}\u0000(account)`, { because: why(d.because) });
    for (const g of d.grants)
      out.set(`${d.targetName}\u0000${g.entitlement.key}`, { because: why(g.because) });
  }
  return out;
}

/** Who would gain and lose what under `next` compared with `current`, over every person. */
export async function policyImpact(
  db: Q,
  current: CompiledPolicy,
  next: CompiledPolicy,
  now: Date,
): Promise<{ impact: PolicyImpact; personIds: string[]; ops: PlannedOp[] }> {
  const impact: PolicyImpact = {
    people: 0,
    affected: 0,
    gains: [],
    losses: [],
    gainCount: 0,
    lossCount: 0,
    byItem: [],
    operations: 0,
    truncated: false,
  };
  const byItem = new Map<string, { target: string; item: string; gain: number; lose: number }>();
  const affected: string[] = [];
  const ops: PlannedOp[] = [];
  for (let after: string | null = null; ;) {
    const ids = await personIdsPage(db, after, PAGE);
    if (!ids.length) break;
    after = ids[ids.length - 1]!;
    const input = await loadPlanInput(db, next, ids, now);
    const newPlans = planPeople(input);
    const oldPlans = planPeople({ ...input, policy: current });
    const names = new Map(input.people.map((p) => [p.id, p.facts.displayName]));
    impact.people += input.people.length;
    newPlans.forEach((plan, i) => {
      const was = accessOf(oldPlans[i]!);
      const will = accessOf(plan);
      let changed = plan.ops.length > 0;
      const line = (key: string, because?: string): ImpactLine => {
        const [target, item] = key.split('\u0000') as [string, string];
        return {
          personId: plan.personId,
          person: names.get(plan.personId) ?? plan.personId,
          target,
          item,
          ...(because ? { because } : {}),
        };
      };
      const count = (key: string, field: 'gain' | 'lose') => {
        const [target, item] = key.split('\u0000') as [string, string];
        const e = byItem.get(key) ?? { target, item, gain: 0, lose: 0 };
        e[field] += 1;
        byItem.set(key, e);
      };
      for (const [key, v] of will)
        if (!was.has(key)) {
          changed = true;
          impact.gainCount += 1;
          count(key, 'gain');
          if (impact.gains.length < IMPACT_LINES) impact.gains.push(line(key, v.because));
          else impact.truncated = true;
        }
      for (const key of was.keys())
        if (!will.has(key)) {
          changed = true;
          impact.lossCount += 1;
          count(key, 'lose');
          if (impact.losses.length < IMPACT_LINES) impact.losses.push(line(key));
          else impact.truncated = true;
        }
      if (changed) affected.push(plan.personId);
      ops.push(...plan.ops);
    });
  }
  impact.affected = affected.length;
  impact.operations = ops.length;
  impact.byItem = [...byItem.values()].sort((a, b) => b.gain + b.lose - (a.gain + a.lose));
  return { impact, personIds: affected, ops };
}

export interface ApplyPolicyResult {
  dryRun: boolean;
  version: number | null;
  impact: PolicyImpact;
  changeSet: RecordedChangeSet | null;
  namingChanged: boolean;
}

function problemsError(
  file: string | undefined,
  f: PolicyFile | undefined,
  problems: PolicyProblem[],
): GatehouseError {
  const located = f
    ? locateProblems(file ?? 'policy', f, problems)
    : problems.map((p) => ({ field: p.path.join('.') || '(document)', message: p.message }));
  return new GatehouseError(
    PolicyErrors.invalid,
    `the policy has ${located.length} problem${located.length === 1 ? '' : 's'}: ${located
      .slice(0, 3)
      .map((p) => `${p.field}: ${p.message}`)
      .join('; ')}${located.length > 3 ? '; …' : ''}`,
    { status: 422, problems: located },
  );
}

/** Check a policy given as YAML text or as a document object; every problem at once, with where it is. */
export async function checkPolicyInput(
  db: Q,
  input: { yaml: string; file?: string } | { document: unknown; naming?: unknown },
): Promise<{ policy: CompiledPolicy; naming?: NamingPolicy }> {
  let file: PolicyFile | undefined;
  let raw: unknown;
  let namingInput: unknown;
  if ('yaml' in input) {
    file = readPolicyYaml(input.yaml, input.file);
    raw = file.document;
    namingInput = file.naming;
  } else {
    raw = input.document;
    namingInput = input.naming;
  }
  const problems: PolicyProblem[] = [];
  let naming: NamingPolicy | undefined;
  if (namingInput !== undefined)
    try {
      naming = validateNamingPolicy(namingInput);
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      for (const p of e.problems)
        problems.push({ path: ['naming', ...p.field.split('.').filter(Boolean)], message: p.message });
    }
  const parsed = policyDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues)
      problems.push({ path: i.path as (string | number)[], message: i.message });
    throw problemsError(input && 'file' in input ? input.file : undefined, file, problems);
  }
  const compiled = compilePolicy(parsed.data, await loadCatalog(db));
  problems.push(...compiled.problems);
  if (problems.length || !compiled.policy)
    throw problemsError('yaml' in input ? input.file : undefined, file, problems);
  return { policy: compiled.policy, ...(naming ? { naming } : {}) };
}

/** Check, show the impact and (unless dry run) apply: new version, naming standards, one change set. */
export async function applyPolicy(
  tx: Tx,
  ctx: CommandContext,
  deps: { jobs: Pick<Jobs, 'send'> },
  input: { yaml: string; file?: string } | { document: unknown; naming?: unknown },
  opts: { dryRun: boolean; comment?: string; hold?: boolean },
): Promise<ApplyPolicyResult> {
  const { policy, naming } = await checkPolicyInput(tx.client, input);
  let current: CompiledPolicy;
  try {
    current = await loadPolicy(tx.client);
  } catch {
    // The policy in force no longer compiles: compare with an empty one.
    current = compilePolicy(policyDocumentSchema.parse({}), await loadCatalog(tx.client)).policy!;
  }
  const now = ctx.clock.now();
  const { impact, personIds } = await policyImpact(tx.client, current, policy, now);
  const namingBefore = naming ? await getNamingPolicy(tx) : undefined;
  const namingChanged = !!naming && JSON.stringify(naming) !== JSON.stringify(namingBefore);
  if (opts.dryRun) return { dryRun: true, version: null, impact, changeSet: null, namingChanged };
  if (namingChanged) await setNamingPolicy(tx, ctx, naming!);
  const version = await savePolicy(tx, ctx, policy.document, opts.comment ?? '');
  let changeSet: RecordedChangeSet | null = null;
  if (personIds.length) {
    const stored = await loadPolicy(tx.client);
    const draft = await draftChangeSet(
      tx.client,
      stored,
      personIds,
      now,
      `Policy version ${version}${opts.comment ? `: ${opts.comment}` : ''}`,
    );
    changeSet = await recordChangeSet(tx, ctx, deps, draft, version, {
      trigger: 'policy',
      triggerRefs: { version },
      ...(opts.hold ? { hold: true } : {}),
    });
  }
  return { dryRun: false, version, impact, changeSet, namingChanged };
}

/** The policy in force and the naming standards, as YAML. */
export async function exportPolicy(
  tx: Pick<Tx, 'client' | 'db'>,
): Promise<{ yaml: string; version: number; document: PolicyDocument }> {
  const current = await getPolicy(tx.client);
  const naming = await getNamingPolicy(tx);
  return {
    yaml: writePolicyYaml(current.document, naming),
    version: current.version,
    document: current.document,
  };
}
