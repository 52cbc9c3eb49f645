/**
 * RFC 7644 §3.4.2.2 filters → an AST, for the SCIM service provider (which compiles it to SQL; nothing is ever
 * filtered in memory). Operators and attribute names are case-insensitive; `not` binds tighter than `and`, `and`
 * tighter than `or`; value paths (`emails[type eq "work" and value co "@example.com"]`) and schema-qualified names
 * (`urn:ietf:params:scim:schemas:core:2.0:User:userName`) are supported. Strict by default; `lenient` also takes
 * what Entra and the RFC's own examples send: unquoted values (`name.familyName eq Employee`) and single-quoted
 * strings (`displayName sw 'Group'`). Every error says where and what was expected.
 */
import { GatehouseError } from '../kit/errors.ts';

export const ScimFilterErrors = { invalid: 'scim_invalid_filter' } as const;

export interface AttrPath {
  /** The schema URN when the name was qualified (`urn:…:User`), as written. */
  schema?: string;
  attribute: string;
  subAttribute?: string;
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { op: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { op: 'not'; filter: FilterNode }
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: FilterValue }
  | { op: 'valuePath'; path: AttrPath; filter: FilterNode };

export interface ParseOptions {
  /** Accept unquoted values and single-quoted strings (Entra's and the RFC examples' habits). */
  lenient?: boolean;
}

/** Longest filter accepted, and deepest nesting: a filter is a query, not a program. */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_DEPTH = 32;

const COMPARE = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { kind: '(' | ')' | '[' | ']'; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; text: string; at: number }
  | { kind: 'word'; value: string; at: number };

function fail(at: number, message: string): GatehouseError {
  return new GatehouseError(ScimFilterErrors.invalid, `invalid filter at ${at + 1}: ${message}`, {
    status: 400,
    details: { scimType: 'invalidFilter' },
    problems: [{ field: 'filter', message: `at ${at + 1}: ${message}` }],
  });
}

const WORD = /[A-Za-z0-9_$:.\-+]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function tokenize(text: string, lenient: boolean): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, at: i });
      i++;
      continue;
    }
    if (c === '"' || (c === "'" && lenient)) {
      const start = i;
      let j = i + 1;
      let raw = '';
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\') {
          raw += text[j]! + (text[j + 1] ?? '');
          j++;
        } else raw += text[j];
      }
      if (j >= text.length) throw fail(start, 'a string that is never closed');
      let value: string;
      try {
        // A JSON string (RFC 7644 compValue); a single-quoted one takes the same escapes.
        value = JSON.parse(`"${c === "'" ? raw.replace(/\\'/g, "'").replace(/"/g, '\\"') : raw}"`) as string;
      } catch {
        throw fail(start, 'a string with an invalid escape (use JSON escapes such as \\" and \\\\)');
      }
      // No stored value can hold U+0000 (PostgreSQL text cannot), so such a filter is a mistake, not a query.
      if (value.includes('\u0000')) throw fail(start, 'a string with a NUL character (\\u0000)');
      tokens.push({ kind: 'string', value, at: start });
      i = j + 1;
      continue;
    }
    if (c === "'") throw fail(i, 'strings are written in double quotes ("…")');
    if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      const word = text.slice(start, i);
      if (NUMBER.test(word)) tokens.push({ kind: 'number', value: Number(word), text: word, at: start });
      else tokens.push({ kind: 'word', value: word, at: start });
      continue;
    }
    throw fail(i, `unexpected character ${JSON.stringify(c)}`);
  }
  return tokens;
}

const ATTRNAME = /^[A-Za-z$][\w$-]*$/;

function attrPath(t: Token & { kind: 'word' }): AttrPath {
  const colon = t.value.lastIndexOf(':');
  const schema = colon >= 0 ? t.value.slice(0, colon) : undefined;
  const name = colon >= 0 ? t.value.slice(colon + 1) : t.value;
  if (schema !== undefined && !/^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$/i.test(schema))
    throw fail(t.at, `"${schema}" is not a schema URN`);
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => !ATTRNAME.test(p)))
    throw fail(t.at, `"${t.value}" is not an attribute path (attribute or attribute.subAttribute)`);
  return {
    ...(schema ? { schema } : {}),
    attribute: parts[0]!,
    ...(parts[1] ? { subAttribute: parts[1] } : {}),
  };
}

/** Parse a SCIM filter. Throws `scim_invalid_filter` (400, scimType invalidFilter) with the position. */
export function parseFilter(text: string, opts: ParseOptions = {}): FilterNode {
  if (text.length > MAX_FILTER_LENGTH)
    throw fail(MAX_FILTER_LENGTH, `a filter may be at most ${MAX_FILTER_LENGTH} characters`);
  const lenient = opts.lenient === true;
  const tokens = tokenize(text, lenient);
  let pos = 0;
  const peek = () => tokens[pos];
  /** Where "the end" is reported: the last character (positions are 1-based in messages). */
  const end = () => Math.max(0, text.length - 1);
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.value.toLowerCase() === w;
  const describe = (t: Token | undefined) =>
    !t
      ? 'the end'
      : t.kind === 'word'
        ? `"${t.value}"`
        : t.kind === 'string'
          ? 'a string'
          : t.kind === 'number'
            ? t.text
            : `"${t.kind}"`;

  function or(depth: number, inValue: boolean): FilterNode {
    let left = and(depth, inValue);
    while (isWord(peek(), 'or')) {
      pos++;
      left = { op: 'or', left, right: and(depth, inValue) };
    }
    return left;
  }
  function and(depth: number, inValue: boolean): FilterNode {
    let left = unary(depth, inValue);
    while (isWord(peek(), 'and')) {
      pos++;
      left = { op: 'and', left, right: unary(depth, inValue) };
    }
    return left;
  }
  function group(depth: number, inValue: boolean): FilterNode {
    const open = tokens[pos]!;
    pos++;
    const inner = or(depth + 1, inValue);
    if (peek()?.kind !== ')')
      throw fail(
        peek()?.at ?? end(),
        `expected ")" to close the "(" at ${open.at + 1}, found ${describe(peek())}`,
      );
    pos++;
    return inner;
  }
  function unary(depth: number, inValue: boolean): FilterNode {
    if (depth > MAX_DEPTH) throw fail(peek()?.at ?? end(), `nested deeper than ${MAX_DEPTH} levels`);
    const t = peek();
    if (!t) throw fail(end(), 'expected an expression, found the end');
    if (isWord(t, 'not') && tokens[pos + 1]?.kind === '(') {
      pos++;
      return { op: 'not', filter: group(depth + 1, inValue) };
    }
    if (t.kind === '(') return group(depth, inValue);
    if (t.kind !== 'word') throw fail(t.at, `expected an attribute, found ${describe(t)}`);
    pos++;
    const path = attrPath(t);
    const next = peek();
    if (next?.kind === '[') {
      if (inValue) throw fail(next.at, 'a value filter cannot hold another value filter');
      if (path.subAttribute)
        throw fail(next.at, `"[" must follow a multi-valued attribute, not a sub-attribute`);
      pos++;
      const filter = or(depth + 1, true);
      if (peek()?.kind !== ']')
        throw fail(
          peek()?.at ?? end(),
          `expected "]" to close the "[" at ${next.at + 1}, found ${describe(peek())}`,
        );
      pos++;
      return { op: 'valuePath', path, filter };
    }
    if (next?.kind !== 'word')
      throw fail(next?.at ?? end(), `expected an operator after "${t.value}", found ${describe(next)}`);
    const op = next.value.toLowerCase();
    pos++;
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE.has(op))
      throw fail(next.at, `"${next.value}" is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)`);
    const v = peek();
    if (!v || (v.kind !== 'string' && v.kind !== 'number' && v.kind !== 'word'))
      throw fail(v?.at ?? end(), `expected a value after "${next.value}", found ${describe(v)}`);
    pos++;
    let value: FilterValue;
    if (v.kind === 'string' || v.kind === 'number') value = v.value;
    else {
      const w = v.value.toLowerCase();
      if (w === 'true') value = true;
      else if (w === 'false') value = false;
      else if (w === 'null') value = null;
      else if (lenient && !['and', 'or', 'not'].includes(w)) value = v.value;
      else
        throw fail(v.at, `expected a value (a "string", a number, true, false or null), found "${v.value}"`);
    }
    return { op: op as CompareOp, path, value };
  }

  if (!tokens.length) throw fail(0, 'the filter is empty');
  const tree = or(0, false);
  if (pos < tokens.length) {
    const t = tokens[pos]!;
    throw fail(t.at, `expected "and", "or" or the end, found ${describe(t)}`);
  }
  return tree;
}

/** The AST back to filter text (canonical: lower-case operators, parentheses where precedence needs them). */
export function formatFilter(node: FilterNode): string {
  const path = (p: AttrPath) =>
    `${p.schema ? `${p.schema}:` : ''}${p.attribute}${p.subAttribute ? `.${p.subAttribute}` : ''}`;
  const wrap = (n: FilterNode, parent: 'and' | 'or') =>
    n.op === 'or' && parent === 'and' ? `(${formatFilter(n)})` : formatFilter(n);
  switch (node.op) {
    case 'and':
    case 'or':
      return `${wrap(node.left, node.op)} ${node.op} ${wrap(node.right, node.op)}`;
    case 'not':
      return `not (${formatFilter(node.filter)})`;
    case 'pr':
      return `${path(node.path)} pr`;
    case 'valuePath':
      return `${path(node.path)}[${formatFilter(node.filter)}]`;
    default:
      return `${path(node.path)} ${node.op} ${JSON.stringify(node.value)}`;
  }
}
