/**
 * A runner for Runscope / BlazeMeter API-monitoring exports ("API Tests" JSON), written for Okta's SCIM 2.0 spec
 * test (test/fixtures/scim/Okta-SCIM-20-SPEC-Test.json). No npm package runs these exports, so this file does what
 * Runscope does with one: it walks the steps in order, substitutes `{{variables}}`, sends each request, evaluates
 * the declarative assertions and extracts variables from the responses.
 *
 * What differs from Runscope, on purpose:
 * - Pauses between steps are skipped (they only give slow back ends time to settle).
 * - Scripts are never evaluated. The suite's initial script (Okta's Initial_Script_Spec.txt, pasted into Runscope's
 *   environment settings; it is not part of the export) is reimplemented in `initialVariables`. Step scripts are
 *   recognised by their content and their intent is implemented in TypeScript (`KNOWN_SCRIPTS`); a script that is
 *   not recognised becomes a failing assertion, so nothing is skipped silently.
 * - `response_time` assertions are evaluated but reported apart (`timing`), never counted in passed/failed: the
 *   project rule is "no timing assertions in tests", as response times depend on the machine's load.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface RunscopeOptions {
  /** The SCIM base URL, mapped onto the export's `SCIMBaseURL` variable, e.g. http://127.0.0.1:1234/scim/v2. */
  baseUrl: string;
  /** The full Authorization header value (the export's `auth` variable), e.g. "Bearer x". */
  auth: string;
  fetch?: typeof fetch;
  /** Overrides for any variable, applied after the initial script's. */
  variables?: Record<string, string>;
}

export interface AssertionResult {
  /** A stable name, built from the assertion's definition (variables unresolved). */
  name: string;
  source: string;
  property?: string;
  comparison: string;
  /** The expected value with variables resolved (undefined for comparisons without a value). */
  expected: unknown;
  actual: unknown;
  passed: boolean;
}

export interface StepResult {
  /** The step's note (its name in Runscope's editor), or "METHOD url" without one. */
  name: string;
  method: string;
  /** The URL as sent, variables resolved. */
  url: string;
  /** The HTTP status; 0 when no response arrived. */
  status: number;
  /** Why no response arrived. */
  error?: string;
  assertions: AssertionResult[];
  /** The step's `response_time` assertions: reported, never counted. */
  timing: AssertionResult[];
  /** Variables this step extracted from its response. */
  extracted: Record<string, string>;
}

export interface RunscopeFailure {
  step: string;
  assertion: string;
  expected: unknown;
  actual: unknown;
}

export interface TimingCheck {
  step: string;
  assertion: string;
  expected: unknown;
  /** Milliseconds. */
  actual: unknown;
  passed: boolean;
}

export interface RunscopeResult {
  /** The test's name from the export. */
  name: string;
  steps: StepResult[];
  passed: number;
  failed: number;
  failures: RunscopeFailure[];
  /** Response-time assertions, kept out of passed/failed (project rule: no timing assertions in tests). */
  timing: { passed: number; failed: number; checks: TimingCheck[] };
  /** The variables at the end of the run. */
  variables: Record<string, string>;
}

interface RunscopeAssertion {
  source: string;
  comparison: string;
  value?: unknown;
  property?: string | null;
}

interface RunscopeVariable {
  source: string;
  name: string;
  property?: string | null;
}

interface RunscopeStep {
  step_type: string;
  skipped?: boolean;
  note?: string;
  method?: string;
  url?: string;
  headers?: Record<string, string[] | string>;
  body?: string;
  form?: Record<string, unknown>;
  multipart_form?: unknown[];
  binary_body?: unknown;
  auth?: Record<string, unknown>;
  assertions?: RunscopeAssertion[];
  variables?: RunscopeVariable[];
  scripts?: string[];
  before_scripts?: string[];
}

interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  timeMs: number;
}

/** The base URL variable of Okta's export. */
export const BASE_URL_VARIABLE = 'SCIMBaseURL';
/** The Authorization header variable of Okta's export. */
export const AUTH_VARIABLE = 'auth';

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();

function pick(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/**
 * What Okta's initial script (Initial_Script_Spec.txt) sets, reimplemented rather than evaluated:
 * a given name "Runscope" + 3 digits, a family name of one capital, 8 small letters and 3 digits, the user name and
 * e-mail `<given><family>@atko.com`, its upper-cased form, a fixed unknown e-mail and user id, and a group name
 * ("Runscope" + 3 digits; no step of the 2.0 spec test uses it).
 */
export function initialVariables(): Record<string, string> {
  const givenName = `Runscope${pick(DIGITS, 3)}`;
  const familyName = pick(UPPER, 1) + pick(LOWER, 8) + pick(DIGITS, 3);
  const email = `${givenName}${familyName}@atko.com`;
  return {
    randomGivenName: givenName,
    randomFamilyName: familyName,
    randomEmail: email,
    randomUsername: email,
    InvalidUserEmail: 'abcdefgh@atko.com',
    UserIdThatDoesNotExist: '010101001010101011001010101011',
    randomUsernameCaps: email.toUpperCase(),
    randomGroupName: `Runscope${pick(DIGITS, 3)}`,
  };
}

function substitute(text: string, vars: Record<string, string>): string {
  // Runscope leaves an unknown variable as written.
  return text.replace(/\{\{\s*([^{}\s]+)\s*\}\}/g, (whole, name: string) => vars[name] ?? whole);
}

/** A Runscope property path: `Resources[0].name.familyName`, `schemas`, `[0].id`. */
export function readPath(doc: unknown, path: string): unknown {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    parts.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  let cur: unknown = doc;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** How Runscope compares JSON values with the strings typed into its editor (booleans as true/false). */
function asText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === null) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false; // numbers and booleans (also 0 and false) are values
}

function sameText(a: unknown, b: unknown): boolean {
  const x = asText(a);
  return x !== undefined && x === asText(b);
}

function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(actual)) return actual.some((e) => sameText(e, expected));
  if (actual !== null && typeof actual === 'object') return Object.hasOwn(actual, String(expected));
  const text = asText(actual);
  return text !== undefined && text.includes(String(expected));
}

type Comparison = (actual: unknown, expected: unknown) => boolean;

function numeric(test: (a: number, e: number) => boolean): Comparison {
  return (actual, expected) => {
    const a = asNumber(actual);
    const e = asNumber(expected);
    return a !== undefined && e !== undefined && test(a, e);
  };
}

/** Runscope's comparisons (its editor's list), with the semantics its documentation gives them. */
const COMPARISONS: Record<string, Comparison> = {
  empty: (a) => isEmpty(a),
  not_empty: (a) => !isEmpty(a),
  equal: sameText,
  not_equal: (a, e) => !sameText(a, e),
  contains,
  does_not_contain: (a, e) => a !== undefined && !contains(a, e),
  has_key: (a, e) => a !== null && typeof a === 'object' && !Array.isArray(a) && Object.hasOwn(a, String(e)),
  has_value: (a, e) =>
    Array.isArray(a)
      ? a.some((x) => sameText(x, e))
      : a !== null && typeof a === 'object' && Object.values(a).some((x) => sameText(x, e)),
  is_null: (a) => a === null,
  is_a_number: (a) => asNumber(a) !== undefined,
  equal_number: numeric((a, e) => a === e),
  is_less_than: numeric((a, e) => a < e),
  is_less_than_or_equal: numeric((a, e) => a <= e),
  is_greater_than: numeric((a, e) => a > e),
  is_greater_than_or_equal: numeric((a, e) => a >= e),
};

function readSource(res: HttpResponse | undefined, source: string, property: string | undefined): unknown {
  if (!res) return undefined;
  switch (source) {
    case 'response_status':
      return res.status;
    case 'response_time':
      return Math.round(res.timeMs);
    case 'response_text':
      return res.text;
    case 'response_json':
      return property ? readPath(res.json, property) : res.json;
    case 'response_headers':
      return property ? (res.headers.get(property) ?? undefined) : Object.fromEntries(res.headers);
    default:
      throw new Error(`unsupported assertion source "${source}"`);
  }
}

function assertionName(a: RunscopeAssertion): string {
  const value = a.value === null || a.value === undefined ? '' : ` ${String(a.value)}`;
  return `${a.source}${a.property ? ` ${a.property}` : ''} ${a.comparison}${value}`;
}

function evaluate(
  a: RunscopeAssertion,
  res: HttpResponse | undefined,
  vars: Record<string, string>,
): AssertionResult {
  const property = a.property ? substitute(a.property, vars) : undefined;
  const expected = typeof a.value === 'string' ? substitute(a.value, vars) : (a.value ?? undefined);
  const base = { name: assertionName(a), source: a.source, comparison: a.comparison, expected };
  const compare = COMPARISONS[a.comparison];
  if (!compare)
    return { ...base, property, actual: `unsupported comparison "${a.comparison}"`, passed: false };
  let actual: unknown;
  try {
    actual = readSource(res, a.source, property);
  } catch (e) {
    return { ...base, property, actual: (e as Error).message, passed: false };
  }
  return { ...base, property, actual, passed: res !== undefined && compare(actual, expected) };
}

/**
 * Step scripts, recognised by their text: each gives the assertion(s) the script means to make. Okta's Groups step
 * script parses the body and, when totalResults ≥ 1 and Resources is an array, asserts "Resources is of type Array".
 * Taken literally it never fails on an empty store (its `assert("nogroups", …)` asserts a truthy string); its intent
 * is that the endpoint lists at least one group, and that is what is checked here.
 */
const GROUPS_SCRIPT = 'script: Resources is of type Array (totalResults ≥ 1)';
const KNOWN_SCRIPTS: {
  name: string;
  recognise: (script: string) => boolean;
  check: (res: HttpResponse) => Pick<AssertionResult, 'expected' | 'actual' | 'passed'>;
}[] = [
  {
    name: GROUPS_SCRIPT,
    recognise: (s) => s.includes('data.totalResults') && s.includes('Resources is of type Array'),
    check: (res) => {
      const body = res.json as { totalResults?: unknown; Resources?: unknown } | undefined;
      const total = body?.totalResults;
      const isArray = Array.isArray(body?.Resources);
      return {
        expected: { totalResults: '≥ 1', Resources: 'array' },
        actual: { totalResults: total, Resources: isArray ? 'array' : typeof body?.Resources },
        passed: typeof total === 'number' && total >= 1 && isArray,
      };
    },
  },
];

function scriptAssertions(scripts: string[] | undefined, res: HttpResponse | undefined): AssertionResult[] {
  const out: AssertionResult[] = [];
  for (const script of scripts ?? []) {
    if (!script.trim()) continue;
    const known = KNOWN_SCRIPTS.find((k) => k.recognise(script));
    const base = { source: 'script', comparison: 'script' };
    if (!known)
      out.push({
        ...base,
        name: `script: unsupported (${script.trim().split('\n')[0]!.slice(0, 60)})`,
        expected: 'a script this runner implements',
        actual: script,
        passed: false,
      });
    else if (!res)
      out.push({ ...base, name: known.name, expected: 'a response', actual: undefined, passed: false });
    else out.push({ ...base, name: known.name, ...known.check(res) });
  }
  return out;
}

function extract(
  v: RunscopeVariable,
  res: HttpResponse | undefined,
  vars: Record<string, string>,
): string | undefined {
  try {
    const value = readSource(res, v.source, v.property ? substitute(v.property, vars) : undefined);
    return value === undefined ? undefined : asText(value);
  } catch {
    return undefined;
  }
}

function headerList(headers: RunscopeStep['headers'], vars: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(headers ?? {}))
    for (const value of Array.isArray(v) ? v : [v]) out.push([k, substitute(value, vars)]);
  return out;
}

function unsupportedRequestParts(step: RunscopeStep): string[] {
  const parts: string[] = [];
  if (step.auth && Object.keys(step.auth).length) parts.push('auth');
  if (step.form && Object.keys(step.form).length) parts.push('form');
  if (step.multipart_form?.length) parts.push('multipart_form');
  if (step.binary_body) parts.push('binary_body');
  if (step.before_scripts?.some((s) => s.trim())) parts.push('before_scripts');
  return parts;
}

function parseTest(test: unknown): { name: string; steps: RunscopeStep[] } {
  const t = test as { name?: unknown; steps?: unknown } | null;
  if (!t || typeof t !== 'object' || !Array.isArray(t.steps))
    throw new Error('not a Runscope test export: no steps');
  return { name: typeof t.name === 'string' ? t.name : 'runscope test', steps: t.steps as RunscopeStep[] };
}

export async function runRunscope(test: unknown, opts: RunscopeOptions): Promise<RunscopeResult> {
  const { name, steps } = parseTest(test);
  const doFetch = opts.fetch ?? fetch;
  const vars: Record<string, string> = {
    ...initialVariables(),
    [BASE_URL_VARIABLE]: opts.baseUrl.replace(/\/+$/, ''),
    [AUTH_VARIABLE]: opts.auth,
    ...opts.variables,
  };
  const results: StepResult[] = [];

  for (const step of steps) {
    if (step.skipped || step.step_type === 'pause') continue; // pauses are skipped: no waiting
    const method = (step.method ?? 'GET').toUpperCase();
    const written = substitute(step.url ?? '', vars);
    // Spaces and quotes in filters are percent-encoded by the URL parser, as Runscope sends them.
    const url = URL.canParse(written) ? new URL(written).href : written;
    const stepName = step.note?.trim() || `${method} ${step.url ?? ''}`;
    const result: StepResult = {
      name: stepName,
      method,
      url,
      status: 0,
      assertions: [],
      timing: [],
      extracted: {},
    };
    results.push(result);

    const unsupported = step.step_type === 'request' ? unsupportedRequestParts(step) : [step.step_type];
    if (unsupported.length) {
      result.error = `unsupported: ${unsupported.join(', ')}`;
      result.assertions.push({
        name: `unsupported step content: ${unsupported.join(', ')}`,
        source: 'runner',
        comparison: 'supported',
        expected: 'only what this runner implements',
        actual: unsupported,
        passed: false,
      });
      continue;
    }

    let res: HttpResponse | undefined;
    try {
      const body = step.body ? substitute(step.body, vars) : undefined;
      const started = performance.now();
      const response = await doFetch(url, {
        method,
        headers: headerList(step.headers, vars),
        ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
        redirect: 'manual',
      });
      const text = await response.text();
      const timeMs = performance.now() - started;
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      res = { status: response.status, headers: response.headers, text, json, timeMs };
      result.status = response.status;
    } catch (e) {
      result.error = (e as Error).message;
    }

    for (const a of step.assertions ?? []) {
      const r = evaluate(a, res, vars);
      (a.source === 'response_time' ? result.timing : result.assertions).push(r);
    }
    result.assertions.push(...scriptAssertions(step.scripts, res));
    for (const v of step.variables ?? []) {
      const value = extract(v, res, vars);
      if (value !== undefined) {
        vars[v.name] = value;
        result.extracted[v.name] = value;
      }
    }
  }

  const all = results.flatMap((s) => s.assertions.map((a) => ({ step: s.name, a })));
  const timing = results.flatMap((s) =>
    s.timing.map((a) => ({
      step: s.name,
      assertion: a.name,
      expected: a.expected,
      actual: a.actual,
      passed: a.passed,
    })),
  );
  return {
    name,
    steps: results,
    passed: all.filter((x) => x.a.passed).length,
    failed: all.filter((x) => !x.a.passed).length,
    failures: all
      .filter((x) => !x.a.passed)
      .map((x) => ({ step: x.step, assertion: x.a.name, expected: x.a.expected, actual: x.a.actual })),
    timing: {
      passed: timing.filter((t) => t.passed).length,
      failed: timing.filter((t) => !t.passed).length,
      checks: timing,
    },
    variables: { ...vars },
  };
}

function show(v: unknown): string {
  if (v === undefined) return '(nothing)';
  return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
}

/** A readable report: the totals, then each failure with its step, assertion, expected and actual values. */
export function formatRunscopeReport(result: RunscopeResult, title = 'okta spec'): string {
  const lines = [`${title}: ${result.passed} passed, ${result.failed} failed`];
  for (const f of result.failures) {
    lines.push(`  ✗ ${f.step}`, `      ${f.assertion}`);
    // Comparisons without a value (not_empty, is_a_number, …) say what they expect in the assertion's name.
    if (f.expected !== undefined) lines.push(`      expected: ${show(f.expected)}`);
    lines.push(`      actual:   ${show(f.actual)}`);
  }
  for (const s of result.steps) if (s.error) lines.push(`  ! ${s.name}: ${s.error}`);
  const t = result.timing;
  if (t.checks.length)
    lines.push(
      `  timing (reported, not counted): ${t.passed} of ${t.checks.length} within limits` +
        t.checks
          .filter((c) => !c.passed)
          .map((c) => `; ${c.step}: ${show(c.actual)} ms, limit ${show(c.expected)}`)
          .join(''),
    );
  return lines.join('\n');
}
