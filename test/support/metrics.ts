/** One scrape of a node's /metrics: a sample's value by its name and labels as the text format writes them (0 when absent). */
export async function scrape(url: string) {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const sample = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (sample) samples.set(sample[1]!, Number(sample[2]));
  }
  return {
    value: (name: string) => samples.get(name) ?? 0,
    /** The sum of every sample whose name and labels begin with `prefix`. */
    sum: (prefix: string) => [...samples].filter(([name]) => name.startsWith(prefix)).reduce((total, [, value]) => total + value, 0),
    has: (name: string) => samples.has(name),
  };
}

/** Waits until `check` holds, asking every 25 ms; fails after 5 s, naming `what` it waited for. */
export async function until(check: () => Promise<boolean>, what: string) {
  for (let tries = 0; tries < 200; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never: ${what}`);
}
