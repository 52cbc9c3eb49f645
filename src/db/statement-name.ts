import { createHash } from 'node:crypto';

/**
 * A prepared statement's name for a statement text: the same for the same text, and short (PostgreSQL cuts names
 * at 63 bytes, so two long names could otherwise meet). For texts made by our code from a fixed set of shapes: each
 * one is prepared once per connection, so a text built around its values would prepare without end.
 */
export function statementName(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
}
