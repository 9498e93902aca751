import { describe, expect, it } from 'vitest';
import { drawNumber, numberMatches } from './numberMatching.js';

describe('drawNumber', () => {
  it('draws a typed number of exactly the tenant digits, with no choices', () => {
    for (const digits of [2, 3, 8]) {
      for (let i = 0; i < 200; i++) {
        const { number, choices } = drawNumber('TYPED', digits, 3);
        expect(number).toMatch(new RegExp(`^[1-9]\\d{${digits - 1}}$`));
        expect(choices).toBeNull();
      }
    }
  });

  it('covers the whole range, lowest and highest included', () => {
    expect(drawNumber('TYPED', 2, 3, () => 0).number).toBe('10');
    expect(drawNumber('TYPED', 2, 3, (max) => max - 1).number).toBe('99');
  });

  it('offers N distinct choices, the number among them', () => {
    for (let i = 0; i < 200; i++) {
      const { number, choices } = drawNumber('CHOICE', 2, 5);
      expect(choices).toHaveLength(5);
      expect(new Set(choices).size).toBe(5);
      expect(choices).toContain(number);
    }
  });

  it('puts the right answer in every position, not always first', () => {
    const positions = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const { number, choices } = drawNumber('CHOICE', 2, 3);
      positions.add(choices!.indexOf(number));
    }
    expect([...positions].sort()).toEqual([0, 1, 2]);
  });

  it('ends even when a fake random source keeps repeating itself', () => {
    let calls = 0;
    const stuckThenMoving = (max: number) => (calls++ < 50 ? 0 : calls % max);
    const { choices } = drawNumber('CHOICE', 2, 4, stuckThenMoving);
    expect(new Set(choices).size).toBe(4);
  });
});

describe('numberMatches', () => {
  it('accepts the number, with stray whitespace, and nothing else', () => {
    expect(numberMatches('42', '42')).toBe(true);
    expect(numberMatches('42', ' 42 ')).toBe(true);
    expect(numberMatches('42', '24')).toBe(false);
    expect(numberMatches('42', '420')).toBe(false);
    expect(numberMatches('42', '')).toBe(false);
  });
});
