/**
 * CEL for rules and mappings (`@bufbuild/cel`): parsed and planned once per policy version, evaluated per person.
 * A static walk over the parsed expression rejects fields that do not exist (`person.departmnet`) with the list of
 * the ones that do; evaluation errors at run time (a null in a concatenation) are reported, never thrown.
 */
import { celEnv, celMap, isCelError, isCelList, isCelUint, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

/** The fields of `person` an expression may read. `attributes` is the free-form map from HR. */
export const PERSON_FIELDS = [
  'id',
  'employeeId',
  'firstName',
  'lastName',
  'preferredName',
  'displayName',
  'username',
  'workEmail',
  'department',
  'title',
  'costCenter',
  'location',
  'timeZone',
  'managerId',
  'workerType',
  'status',
  'hireDate',
  'terminationDate',
  'attributes',
] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];
export type PersonFacts = { [K in Exclude<PersonField, 'attributes'>]: string | null } & {
  attributes: Record<string, string>;
};

/** The fields of `manager`; `account` is the manager's account name on the target being mapped. */
export const MANAGER_FIELDS = ['employeeId', 'displayName', 'username', 'workEmail', 'account'] as const;
export type ManagerFacts = Record<(typeof MANAGER_FIELDS)[number], string | null>;

export type ExpressionKind = 'condition' | 'mapping';
const VARIABLES: Record<ExpressionKind, Record<string, readonly string[] | null>> = {
  condition: { person: PERSON_FIELDS },
  mapping: { person: PERSON_FIELDS, manager: MANAGER_FIELDS, target: ['name'] },
};

export interface ExpressionBindings {
  person: PersonFacts;
  manager?: ManagerFacts;
  target?: { name: string };
}

const CEL_VALUE = Symbol('cel value');
/** A record converted to a CEL map once (CEL otherwise rebuilds a plain object at every reference). */
export interface CelRecord {
  readonly [CEL_VALUE]: unknown;
}

function toCel(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v))
    return celMap(
      new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toCel(x)])) as never,
    );
  return v;
}

/** Convert a record (person facts, manager facts) for repeated evaluation: about 2.5× faster per expression. */
export function celRecord(v: object): CelRecord {
  return { [CEL_VALUE]: toCel(v) };
}

/** Bindings with records already converted (see `celRecord`); mix freely with plain ones. */
export interface PreparedBindings {
  person: CelRecord | PersonFacts;
  manager?: CelRecord | ManagerFacts;
  target?: CelRecord | { name: string };
}

function unwrap(b: PreparedBindings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b))
    out[k] = v && typeof v === 'object' && CEL_VALUE in v ? v[CEL_VALUE] : v;
  return out;
}

export type Evaluated = { ok: true; value: unknown } | { ok: false; error: string };
export interface CompiledExpression {
  source: string;
  evaluate(bindings: ExpressionBindings | PreparedBindings): Evaluated;
}

const env = celEnv({ funcs: strings });

interface AstNode {
  exprKind: { case: string | undefined; value?: unknown };
}

/** Every problem of one expression, as sentences; empty when it is usable. */
function staticProblems(ast: AstNode, kind: ExpressionKind): string[] {
  const problems: string[] = [];
  const allowed = VARIABLES[kind];
  const bound = new Set<string>();
  const visit = (node: AstNode | undefined): void => {
    if (!node) return;
    const { case: c, value } = node.exprKind;
    switch (c) {
      case 'identExpr': {
        const name = (value as { name: string }).name;
        if (!(name in allowed) && !bound.has(name))
          problems.push(`unknown name "${name}": use ${Object.keys(allowed).join(', ')}`);
        return;
      }
      case 'selectExpr': {
        const s = value as { operand: AstNode; field: string };
        const op = s.operand.exprKind;
        if (op.case === 'identExpr') {
          const name = (op.value as { name: string }).name;
          const fields = allowed[name];
          if (fields && !bound.has(name) && !fields.includes(s.field))
            problems.push(`${name}.${s.field} does not exist; ${name} has ${fields.join(', ')}`);
          if (!(name in allowed) && !bound.has(name))
            problems.push(`unknown name "${name}": use ${Object.keys(allowed).join(', ')}`);
          return;
        }
        visit(s.operand);
        return;
      }
      case 'callExpr': {
        const call = value as { target?: AstNode; args: AstNode[] };
        visit(call.target);
        for (const a of call.args) visit(a);
        return;
      }
      case 'listExpr':
        for (const e of (value as { elements: AstNode[] }).elements) visit(e);
        return;
      case 'structExpr':
        for (const e of (
          value as { entries: { keyKind: { case: string | undefined; value?: unknown }; value: AstNode }[] }
        ).entries) {
          if (e.keyKind.case === 'mapKey') visit(e.keyKind.value as AstNode);
          visit(e.value);
        }
        return;
      case 'comprehensionExpr': {
        const comp = value as {
          iterVar: string;
          iterVar2?: string;
          accuVar: string;
          iterRange: AstNode;
          accuInit: AstNode;
          loopCondition: AstNode;
          loopStep: AstNode;
          result: AstNode;
        };
        visit(comp.iterRange);
        visit(comp.accuInit);
        const added = [comp.iterVar, comp.iterVar2, comp.accuVar].filter(
          (v): v is string => !!v && !bound.has(v),
        );
        for (const v of added) bound.add(v);
        visit(comp.loopCondition);
        visit(comp.loopStep);
        visit(comp.result);
        for (const v of added) bound.delete(v);
        return;
      }
      default:
        return;
    }
  };
  visit(ast);
  return problems;
}

/** CEL values back to plain JS: int → number, lists → arrays; maps and other types are refused by callers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v) || Array.isArray(v)) return [...(v as Iterable<unknown>)].map(plain);
  return v;
}

/** Parse and plan an expression; `problems` lists what is wrong with it (empty: `compiled` is set). */
export function compileExpression(
  source: string,
  kind: ExpressionKind,
): { compiled?: CompiledExpression; problems: string[] } {
  let ast;
  try {
    ast = parse(source);
  } catch (e) {
    const msg = (e as Error).message.replace(/^<input>:/, 'at ');
    return { problems: [`does not parse: ${msg}`] };
  }
  const problems = staticProblems(ast.expr as unknown as AstNode, kind);
  if (problems.length) return { problems };
  let run: (ctx: never) => unknown;
  try {
    run = plan(env, ast) as (ctx: never) => unknown;
  } catch (e) {
    return { problems: [`cannot be evaluated: ${(e as Error).message}`] };
  }
  return {
    problems: [],
    compiled: {
      source,
      evaluate(bindings) {
        let r: unknown;
        try {
          r = run(unwrap(bindings) as never);
        } catch (e) {
          return { ok: false, error: (e as Error).message };
        }
        if (isCelError(r)) return { ok: false, error: r.message };
        return { ok: true, value: plain(r) };
      },
    },
  };
}
