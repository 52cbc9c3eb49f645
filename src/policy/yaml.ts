/**
 * Policy as code: the whole policy (naming standards, targets' mappings, roles, rules, SoD, settings) as one YAML
 * file. Reading reports every problem with the file, the path in the document and the line and column it is on.
 */
import { LineCounter, isNode, parseDocument, stringify, type Document } from 'yaml';
import { GatehouseError, type FieldProblem } from '../kit/errors.ts';
import type { NamingPolicy } from '../naming/index.ts';
import { formatPath, type PolicyProblem } from './compile.ts';
import { PolicyErrors } from './store.ts';
import type { PolicyDocument } from './document.ts';

export interface PolicyFile {
  /** The policy document proper (not yet validated). */
  document: Record<string, unknown>;
  /** The naming standards, when the file has a `naming` section (validated by the naming capability). */
  naming?: unknown;
  /** Turns document paths into "line L, column C". */
  locate(path: readonly (string | number)[]): { line: number; col: number } | undefined;
}

const HEADER = `# Gatehouse policy. Apply with: gatehouse policy apply -f FILE [--dry-run]
# Expressions are CEL over person (and manager, target in mappings): https://cel.dev
`;

/** Parse YAML into a policy file; YAML syntax errors are reported with line and column. */
export function readPolicyYaml(text: string, file = 'policy.yaml'): PolicyFile {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length)
    throw new GatehouseError(
      PolicyErrors.invalid,
      `${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
      {
        status: 422,
        problems: doc.errors.map((e) => {
          const pos = lineCounter.linePos(e.pos[0]);
          return { field: `${file}:${pos.line}:${pos.col}`, message: e.message.split('\n')[0]! };
        }),
      },
    );
  const value: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GatehouseError(
      PolicyErrors.invalid,
      `${file}: the policy must be a mapping (key: value) at the top`,
      {
        status: 422,
        problems: [{ field: file, message: 'the policy must be a mapping at the top level' }],
      },
    );
  const { naming, ...document } = value as Record<string, unknown>;
  return {
    document,
    ...(naming !== undefined ? { naming } : {}),
    locate(path) {
      // A problem about a missing key points at its parent.
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]);
      }
      return undefined;
    },
  };
}

/** Problems as `file:line:col: path` fields, for errors the CLI and API show. */
export function locateProblems(file: string, f: PolicyFile, problems: PolicyProblem[]): FieldProblem[] {
  return problems.map((p) => {
    const at = f.locate(p.path);
    return {
      field: `${file}${at ? `:${at.line}:${at.col}` : ''}: ${formatPath(p.path)}`,
      message: p.message,
    };
  });
}

/** The policy and naming standards as YAML, stable key order, with a header comment. */
export function writePolicyYaml(document: PolicyDocument, naming: NamingPolicy): string {
  return HEADER + stringify({ naming, ...document }, { lineWidth: 120, aliasDuplicateObjects: false });
}
