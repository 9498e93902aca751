/** Where time comes from: the system clock in services/system.ts; tests inject a clock they can move. */
export interface Clock {
  now(): Date;
}

export const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);
