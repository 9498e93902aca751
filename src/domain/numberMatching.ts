import { randomInt } from 'node:crypto';
import { constantTimeEqual } from './secrets.js';

export type NumberStyle = 'TYPED' | 'CHOICE';

/** A uniform random whole number in [0, max); crypto-strong by default, seeded in unit tests. */
export type RandomInt = (max: number) => number;
const cryptoRandomInt: RandomInt = (max) => randomInt(max);

export interface NumberMatch {
  /** What the browser shows and the user must type or pick on the phone. */
  number: string;
  /** For CHOICE style: distinct candidates in random order, one of them the number; null for TYPED. */
  choices: string[] | null;
}

/**
 * Draws a number of `digits` digits with no leading zero (so "07" and "7" are never confused on
 * a phone keypad), and for CHOICE style `choiceCount` distinct candidates containing it.
 */
export function drawNumber(
  style: NumberStyle,
  digits: number,
  choiceCount: number,
  random: RandomInt = cryptoRandomInt,
): NumberMatch {
  const low = 10 ** (digits - 1);
  const span = 9 * low; // how many numbers have exactly `digits` digits
  const draw = () => String(low + random(span));
  const number = draw();
  if (style === 'TYPED') return { number, choices: null };
  const count = Math.min(choiceCount, span);
  const choices = new Set([number]);
  while (choices.size < count) choices.add(draw());
  return { number, choices: shuffle([...choices], random) };
}

/** Fisher–Yates with the given randomness: the position of the right answer tells nothing. */
function shuffle<T>(items: T[], random: RandomInt): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Whether what the user typed or picked is the number, compared in constant time. */
export const numberMatches = (expected: string, answered: string) => constantTimeEqual(expected, answered.trim());
