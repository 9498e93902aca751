import { describe, expect, it } from 'vitest';
import { findTextProblem, plainTextProblem } from './plainText.js';

describe('plain text', () => {
  it('accepts text in any script, emoji and combining marks included', () => {
    for (const text of ['', 'Adele Vance', 'Adèle O’Brien', 'アデル', 'مرحبا', '👩🏽‍💻', 'e\u0301', '\u00a0non-breaking', 'x\u00a0\u2028y']) {
      expect(plainTextProblem(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('refuses every C0 control, DEL and every C1 control, naming it and where it is', () => {
    const controls = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const code of controls) {
      const problem = plainTextProblem(`ab${String.fromCharCode(code)}`);
      expect(problem).toContain(`control character U+${code.toString(16).toUpperCase().padStart(4, '0')} at position 2`);
    }
    expect(plainTextProblem('\u00a0')).toBeUndefined();
  });

  it('refuses half of a surrogate pair, alone or out of order, and accepts a whole pair', () => {
    for (const text of ['\ud800', 'a\udc00', '\udc00\ud800', '\ud83d']) expect(plainTextProblem(text), JSON.stringify(text)).toMatch(/^is not valid Unicode/);
    expect(plainTextProblem('\ud83d\ude00')).toBeUndefined();
  });

  it('finds the first bad text inside lists and objects, with its path', () => {
    expect(findTextProblem(['a', 'b', ['c', 'd\u0000']])).toMatchObject({ path: [2, 1] });
    expect(findTextProblem({ jti: 'ok', nested: { x: [1, true, null, 'y\u001b'] } })).toMatchObject({ path: ['nested', 'x', 3] });
    expect(findTextProblem({ a: ['b', { c: 'd' }], n: 1 })).toBeUndefined();
    expect(findTextProblem('\u0000')).toMatchObject({ path: [] });
  });
});
