import { createHash } from 'node:crypto';
import anyAscii from 'any-ascii';

/**
 * Naming templates, pure: no database, no clock. A template such as `{first}.{last}` or `{first:1}{last}` is
 * rendered in one of two modes:
 *
 * - `identifier` (usernames, email local parts): transliterated to ASCII, lower-cased, only `[a-z0-9._-]` kept,
 *   repeated separators collapsed, separators trimmed at both ends, truncated to a length limit. Never empty.
 * - `display` (display names): Unicode and case kept; whitespace trimmed and collapsed.
 */

/** The names a template can use. `first` is the preferred name when the person has one. */
export interface NameParts {
  first: string;
  last: string;
  legalFirst?: string;
  employeeId?: string;
}

export type RenderMode = 'identifier' | 'display';

export const TEMPLATE_TOKENS = ['first', 'last', 'legal_first', 'employee_id'] as const;
export type TemplateToken = (typeof TEMPLATE_TOKENS)[number];

/** The longest `{token:N}` length a template may ask for. */
export const MAX_TOKEN_LENGTH = 64;
/** The longest template accepted. */
export const MAX_TEMPLATE_LENGTH = 200;

export type TemplatePart =
  { kind: 'literal'; text: string } | { kind: 'token'; token: TemplateToken; length?: number };

const TOKEN_LIST = '{first}, {last}, {legal_first} or {employee_id}';

/**
 * Problems with a template, as sentences (empty when it is fine). Names the offending token and its position, so
 * that an operator can fix a policy without guessing.
 */
export function templateProblems(template: string, mode: RenderMode): string[] {
  const problems: string[] = [];
  if (template.trim() === '') return ['must not be empty'];
  if (template.length > MAX_TEMPLATE_LENGTH)
    problems.push(`is too long (${template.length} characters; at most ${MAX_TEMPLATE_LENGTH})`);
  const parsed = scanTemplate(template);
  problems.push(...parsed.problems);
  if (parsed.problems.length) return problems;
  const sample = renderParts(parsed.parts, SAMPLE_NAME, mode);
  if (sample === '') {
    problems.push(
      mode === 'identifier'
        ? `produces an empty name: without a token, the text "${template}" leaves nothing a directory accepts (letters a-z, digits, ".", "_", "-")`
        : 'produces an empty name',
    );
  } else if (!parsed.parts.some((p) => p.kind === 'token')) {
    problems.push(`has no name token: everyone would get the same name; use ${TOKEN_LIST}`);
  }
  return problems;
}

/** Parse a template; throws an Error naming the first problem when it is invalid (validate policies first). */
export function parseTemplate(template: string): TemplatePart[] {
  const cached = parseCache.get(template);
  if (cached) return cached;
  const { parts, problems } = scanTemplate(template);
  if (problems.length) throw new Error(`naming template "${template}": ${problems[0]}`);
  if (parseCache.size > 1000) parseCache.clear();
  parseCache.set(template, parts);
  return parts;
}

const parseCache = new Map<string, TemplatePart[]>();
const SAMPLE_NAME: Required<NameParts> = {
  first: 'Jane',
  last: 'Doe',
  legalFirst: 'Jane',
  employeeId: '10001',
};

function scanTemplate(template: string): { parts: TemplatePart[]; problems: string[] } {
  const parts: TemplatePart[] = [];
  const problems: string[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c === '}') {
      problems.push(`has a "}" without a matching "{" at position ${i + 1}`);
      i += 1;
      continue;
    }
    if (c !== '{') {
      literal += c;
      i += 1;
      continue;
    }
    const end = template.indexOf('}', i + 1);
    const nextOpen = template.indexOf('{', i + 1);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
      problems.push(`has a "{" that is never closed at position ${i + 1}`);
      i += 1;
      continue;
    }
    const body = template.slice(i + 1, end);
    const m = /^([A-Za-z_]*)(?::(.*))?$/.exec(body);
    const name = m?.[1] ?? '';
    if (!m || !(TEMPLATE_TOKENS as readonly string[]).includes(name)) {
      problems.push(
        body === ''
          ? `has an empty token "{}" at position ${i + 1}; use ${TOKEN_LIST}`
          : `unknown token "{${body}}"; use ${TOKEN_LIST}, optionally with a length such as {first:1}`,
      );
    } else if (m[2] !== undefined) {
      const n = /^[0-9]+$/.test(m[2]) ? Number(m[2]) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_TOKEN_LENGTH) {
        problems.push(
          `token "{${body}}": the length after ":" must be a whole number from 1 to ${MAX_TOKEN_LENGTH}`,
        );
      } else {
        if (literal) parts.push({ kind: 'literal', text: literal });
        literal = '';
        parts.push({ kind: 'token', token: name as TemplateToken, length: n });
      }
    } else {
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      parts.push({ kind: 'token', token: name as TemplateToken });
    }
    i = end + 1;
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return { parts, problems };
}

/**
 * The letters users expect, applied before any-ascii: Nordic and German letters lose their marks rather than
 * becoming digraphs (ä → a, not ae), except the ligatures and letters that are two sounds (æ → ae, ß → ss, þ → th).
 */
const EXPLICIT: Record<string, string> = {
  ä: 'a',
  ö: 'o',
  ü: 'u',
  ø: 'o',
  å: 'a',
  æ: 'ae',
  œ: 'oe',
  ł: 'l',
  ß: 'ss',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  Ä: 'A',
  Ö: 'O',
  Ü: 'U',
  Ø: 'O',
  Å: 'A',
  Æ: 'Ae',
  Œ: 'Oe',
  Ł: 'L',
  ẞ: 'Ss',
  Đ: 'D',
  Ð: 'D',
  Þ: 'Th',
  İ: 'I',
};
const EXPLICIT_RE = new RegExp(`[${Object.keys(EXPLICIT).join('')}]`, 'gu');
// Emoji and other symbols are not part of a name (any-ascii would spell them out, e.g. ":slight_smile:").
const SYMBOLS_RE = /[\p{S}\p{Extended_Pictographic}]/gu;
const ASCII_ONLY_RE = /^[\x20-\x7e]*$/;

/**
 * Deterministic ASCII for any script: the explicit table first (what users expect), then any-ascii for the rest
 * (Nguyễn → Nguyen, Александр → Aleksandr, 王秀英 → WangXiuYing). Symbols and emoji are dropped. Case is kept.
 */
export function transliterate(s: string): string {
  if (ASCII_ONLY_RE.test(s)) return s;
  const nfc = s.normalize('NFC').replace(SYMBOLS_RE, ' ');
  return anyAscii(nfc.replace(EXPLICIT_RE, (c) => EXPLICIT[c] ?? c));
}

const SEPARATORS_RUN_RE = /[._-]{2,}/g;
const EDGE_SEPARATORS_RE = /^[._-]+|[._-]+$/g;
const TRAILING_SEPARATORS_RE = /[._-]+$/;

/** Lower-case ASCII of one name token: words joined (spaces dropped), hyphens inside kept, nothing else. */
function identifierWords(value: string): string[] {
  const words: string[] = [];
  // "Smith - Jones" is one hyphenated name, like "Smith-Jones".
  for (const raw of transliterate(value)
    .toLowerCase()
    .replace(/\s*-\s*/g, '-')
    .split(/\s+/)) {
    const w = raw
      .replace(/[^a-z0-9-]/g, '')
      .replace(/-{2,}/g, '-')
      .replace(/^-+|-+$/g, '');
    if (w) words.push(w);
  }
  return words;
}

// Names repeat a lot in an import (first names especially): the per-token work is cached, bounded.
const CACHE_LIMIT = 50_000;
const identifierCache: Record<TemplateToken, Map<string, string>> = {
  first: new Map(),
  last: new Map(),
  legal_first: new Map(),
  employee_id: new Map(),
};

function identifierToken(token: TemplateToken, value: string): string {
  const cache = identifierCache[token];
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  let out: string;
  if (token === 'employee_id') {
    out = transliterate(value)
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, '');
  } else {
    const words = identifierWords(value);
    // A first name is its first given name ("José María" → jose); a last name keeps all its words ("van der Berg"
    // → vanderberg; "García-López" → garcia-lopez).
    out = token === 'last' ? words.join('') : (words[0] ?? '');
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, out);
  return out;
}

function tokenValue(token: TemplateToken, name: NameParts): string {
  switch (token) {
    case 'first':
      return name.first;
    case 'last':
      return name.last;
    case 'legal_first':
      return name.legalFirst ?? name.first;
    case 'employee_id':
      return name.employeeId ?? '';
  }
}

function displayValue(value: string): string {
  return value
    .normalize('NFC')
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

const displayCache = new Map<string, string>();

function displayToken(value: string): string {
  const hit = displayCache.get(value);
  if (hit !== undefined) return hit;
  const out = displayValue(value);
  if (displayCache.size >= CACHE_LIMIT) displayCache.clear();
  displayCache.set(value, out);
  return out;
}

const UNTIDY_SPACE_RE = /^\s|\s$|\s\s|[^\S ]/u;

function renderParts(parts: TemplatePart[], name: NameParts, mode: RenderMode): string {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'literal') {
      out +=
        mode === 'identifier'
          ? transliterate(p.text)
              .toLowerCase()
              .replace(/[^a-z0-9._-]/g, '')
          : p.text;
      continue;
    }
    const raw = tokenValue(p.token, name);
    if (mode === 'identifier') {
      const v = identifierToken(p.token, raw);
      out += p.length === undefined ? v : v.slice(0, p.length);
    } else {
      const v = displayToken(raw);
      out += p.length === undefined ? v : Array.from(v).slice(0, p.length).join('');
    }
  }
  if (mode === 'display') return UNTIDY_SPACE_RE.test(out) ? displayValue(out) : out;
  return out.replace(SEPARATORS_RUN_RE, (run) => run[0]!).replace(EDGE_SEPARATORS_RE, '');
}

/** Cut an identifier to `maxLength` without leaving a separator at its end. */
export function truncateIdentifier(value: string, maxLength: number): string {
  if (maxLength <= 0) return '';
  if (value.length <= maxLength) return value;
  return value.slice(0, maxLength).replace(TRAILING_SEPARATORS_RE, '');
}

/**
 * Render a template for a person. In identifier mode the result is never empty: a name with no ASCII form at all
 * gives `u` + a short hash of the names the template uses (deterministic, so the same name gives the same value).
 */
export function renderTemplate(
  template: string,
  name: NameParts,
  mode: RenderMode,
  opts: { maxLength?: number } = {},
): string {
  const parts = parseTemplate(template);
  const out = renderParts(parts, name, mode);
  if (mode === 'display') return out;
  const value = out === '' ? fallbackIdentifier(parts, name) : out;
  return opts.maxLength === undefined ? value : truncateIdentifier(value, opts.maxLength);
}

function fallbackIdentifier(parts: TemplatePart[], name: NameParts): string {
  const used = parts.flatMap((p) =>
    p.kind === 'token' ? [tokenValue(p.token, name).normalize('NFC').trim()] : [],
  );
  const hash = createHash('sha256').update(used.join('\u0000')).digest('hex');
  return `u${hash.slice(0, 8)}`;
}

const reservedSets = new WeakMap<readonly string[], Set<string>>();

/**
 * Whether a value is reserved by the policy (exact match, case-insensitive). For an email address the local part is
 * compared, so `postmaster@example.com` is reserved when `postmaster` is.
 */
export function isReserved(value: string, policy: { reserved: readonly string[] }): boolean {
  let set = reservedSets.get(policy.reserved);
  if (!set) {
    set = new Set(policy.reserved.map((r) => r.trim().toLowerCase()));
    reservedSets.set(policy.reserved, set);
  }
  const v = value.trim().toLowerCase();
  const at = v.lastIndexOf('@');
  return set.has(at >= 0 ? v.slice(0, at) : v);
}

/**
 * The `n`th candidate for a base (n = 1 is the base itself, then base2, base3, …). When the suffix would not fit in
 * `maxLength`, the base is cut, never the suffix. A base ending in a digit gets its suffix after a "-" (e1234 →
 * e1234-2), so that it cannot be read as, or steal, another number. Returns null when no room is left for a base.
 */
export function candidateName(base: string, n: number, maxLength: number): string | null {
  if (n <= 1) return truncateIdentifier(base, maxLength) || null;
  const suffix = String(n);
  const prefix = truncateIdentifier(base, maxLength - suffix.length);
  if (prefix !== '' && !ENDS_WITH_DIGIT_RE.test(prefix)) return prefix + suffix;
  const shorter = truncateIdentifier(base, maxLength - suffix.length - 1);
  if (shorter === '') return null;
  return shorter + (ENDS_WITH_DIGIT_RE.test(shorter) ? '-' : '') + suffix;
}

const ENDS_WITH_DIGIT_RE = /[0-9]$/;

/** The first `n` candidates for a base: base, base2, base3, … (fewer when the length limit leaves no room). */
export function candidateNames(base: string, n: number, maxLength: number): string[] {
  const out: string[] = [];
  for (let k = 1; k <= n; k++) {
    const c = candidateName(base, k, maxLength);
    if (c === null) break;
    out.push(c);
  }
  return out;
}

/** Whether `value` is one of the candidates of `base` (the base itself or base + suffix ≥ 2). */
export function isCandidateOf(value: string, base: string, maxLength: number): boolean {
  if (value === truncateIdentifier(base, maxLength)) return true;
  const m = /([0-9]+)$/.exec(value);
  if (!m || m[1]!.startsWith('0')) return false;
  const n = Number(m[1]);
  return n >= 2 && Number.isSafeInteger(n) && candidateName(base, n, maxLength) === value;
}
