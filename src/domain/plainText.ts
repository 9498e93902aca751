/**
 * Plain text: what every text a client sends must be, whether a name, an id, a code, a secret or a
 * claim of a signed message. Postgres refuses NUL in text (so it was a 500), and the other control
 * characters forge lines in logs, hide text on the phone's approval screen or end a header. No text
 * of this API needs one, tabs and line breaks included: none of its inputs is a multi-line text.
 */

// C0 controls (U+0000 to U+001F: NUL, tab, line breaks, escape), DEL, and C1 controls (U+0080 to U+009F).
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// Half of a UTF-16 surrogate pair. JSON can carry one ("\ud800"), but it is no character, and
// storing it as UTF-8 would silently turn it into U+FFFD.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const codePoint = (character: string) => `U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * What is wrong with a text, to follow its subject in a sentence ("The text …"), or undefined when
 * it is plain text.
 */
export function plainTextProblem(text: string): string | undefined {
  const control = CONTROL_CHARACTER.exec(text);
  if (control) {
    return `contains the control character ${codePoint(control[0])} at position ${control.index}, which no name, id, code or password holds; remove it`;
  }
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) return `is not valid Unicode (half of a UTF-16 surrogate pair at position ${surrogate.index}); send the text as it was typed`;
  return undefined;
}

export interface TextProblem {
  /** Where the text is inside the value: list indexes and object keys, outermost first; empty for the value itself. */
  path: Array<string | number>;
  problem: string;
}

/** The first text inside a value as JSON gives it (a string, or lists and objects holding strings) that is not plain text. */
export function findTextProblem(value: unknown, path: Array<string | number> = []): TextProblem | undefined {
  if (typeof value === 'string') {
    const problem = plainTextProblem(value);
    return problem === undefined ? undefined : { path, problem };
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findTextProblem(item, [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const found = findTextProblem(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
