/**
 * Attribute deltas → SCIM PATCH operations (RFC 7644 §3.5.2), shaped per vendor profile:
 *
 * - rfc: lower-case ops with attribute paths; removing one value of a multi-valued attribute uses a value filter
 *   (`members[value eq "id"]`). A delta RFC 7644 cannot state exactly (writing a typed entry that may not exist yet,
 *   `emails[type eq "work"].value`, or removing one given value of a single-valued attribute) is done by reading the
 *   resource and replacing the whole top-level attribute, conditional on the ETag read.
 * - entra: what Microsoft Entra ID's provisioning service sends: capitalised ops ("Add", "Replace", "Remove"),
 *   typed paths as they are, and removal of multi-valued entries as `{"op":"Remove","path":"members","value":[…]}`.
 * - okta: what Okta sends: lower-case ops; activation, deactivation and passwords as path-less
 *   `{"op":"replace","value":{"active":false}}`; user profile changes as PUT (built in the connector).
 */
import { ConnectorError } from '../kit/errors.ts';
import type { AttributeDelta } from '../kit/types.ts';
import type { ScimProfile } from './config.ts';
import {
  formatPath,
  isMultiComplex,
  isSingleValued,
  literal,
  own,
  type Json,
  type ScimPath,
} from './paths.ts';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

export function patchBody(operations: PatchOperation[]): { schemas: string[]; Operations: PatchOperation[] } {
  return { schemas: [PATCH_OP_SCHEMA], Operations: operations };
}

export function opName(op: 'add' | 'replace' | 'remove', profile: ScimProfile): string {
  return profile === 'entra' ? op[0]!.toUpperCase() + op.slice(1) : op;
}

/** Whether the delta needs the resource read first (rfc and okta-group PATCH only; entra sends its own forms). */
export function needsRead(p: ScimPath, delta: AttributeDelta, profile: ScimProfile): boolean {
  if (profile === 'entra') return false;
  if (p.select) return true;
  return delta.op === 'remove' && delta.values.length > 0 && !isMultiComplex(p);
}

/** PATCH operations for one delta (when `needsRead` is false). */
export function deltaOps(p: ScimPath, delta: AttributeDelta, profile: ScimProfile): PatchOperation[] {
  const path = formatPath(p);
  const values = delta.values;
  const name = (op: 'add' | 'replace' | 'remove') => opName(op, profile);
  if (isMultiComplex(p)) {
    const sub = p.sub ?? 'value';
    const attr = formatPath({ attr: p.attr });
    const entries = values.map((v) => ({ [sub]: v }));
    if (delta.op === 'replace')
      return values.length
        ? [{ op: name('replace'), path: attr, value: entries }]
        : [{ op: name('remove'), path: attr }];
    if (delta.op === 'add') return values.length ? [{ op: name('add'), path: attr, value: entries }] : [];
    if (values.length === 0) return [{ op: name('remove'), path: attr }];
    if (profile === 'entra') return [{ op: name('remove'), path: attr, value: entries }];
    return values.map((v) => ({ op: name('remove'), path: `${attr}[${sub} eq ${literal(v)}]` }));
  }
  if (delta.op === 'remove' || values.length === 0)
    return delta.op === 'add' ? [] : [{ op: name('remove'), path }];
  if (values.length > 1 && isSingleValued(p))
    throw new ConnectorError('schema_violation', `${path} takes exactly one value, not ${values.length}`);
  return [{ op: name(delta.op), path, value: values.length === 1 ? values[0]! : [...values] }];
}

/** The top-level key a path lives under (`name`, `emails`, `urn:…:User:department`). */
export function topKey(p: ScimPath): string {
  return p.urn ? `${p.urn}:${p.attr}` : p.attr;
}

/**
 * After a local read-modify-write: replace (or remove) each touched top-level attribute with its new whole value.
 * Extension attributes are addressed with their URN-qualified path.
 */
export function wholeAttributeOps(
  before: Json,
  after: Json,
  touched: ScimPath[],
  profile: ScimProfile,
): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const seen = new Set<string>();
  for (const p of touched) {
    const key = topKey(p);
    if (seen.has(key.toLowerCase())) continue;
    seen.add(key.toLowerCase());
    const read = (r: Json) => own(p.urn ? own(r, p.urn) : r, p.attr);
    const was = read(before);
    const now = read(after);
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    if (now === undefined) ops.push({ op: opName('remove', profile), path: key });
    else ops.push({ op: opName('replace', profile), path: key, value: now });
  }
  return ops;
}
