import { createHash } from 'node:crypto';

/** Names already made, by prefix and text: a group's statements ask for theirs on every call (~1% of a create). */
const made = new Map<string, string>();
const MAX_REMEMBERED = 1_000;

/**
 * A prepared statement's name for a statement text: the same for the same text, and short (PostgreSQL cuts names
 * at 63 bytes, so two long names could otherwise meet). For texts made by our code from a fixed set of shapes: each
 * one is prepared once per connection, so a text built around its values would prepare without end.
 */
export function statementName(prefix: string, text: string): string {
  const key = `${prefix}\u0000${text}`;
  let name = made.get(key);
  if (name === undefined) {
    name = `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (made.size >= MAX_REMEMBERED) made.clear();
    made.set(key, name);
  }
  return name;
}
