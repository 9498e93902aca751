/** Small DOM helpers shared by the pages: no framework, the markup lives in each page's HTML. */

/** The element with this id; a page whose HTML lacks it is a build mistake, so this throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/** Shows exactly one of the given sections and moves focus to its first heading or control. */
export function showOnly(sections: HTMLElement[], shown: HTMLElement) {
  for (const section of sections) section.hidden = section !== shown;
  const target = shown.querySelector<HTMLElement>('input:not([type=hidden]), h1, h2, button');
  if (target?.tagName.startsWith('H')) target.tabIndex = -1;
  target?.focus();
}

/** Writes a sentence into a live region; emptying it first makes screen readers announce a repeat. */
export function announce(region: HTMLElement, sentence: string) {
  region.textContent = '';
  requestAnimationFrame(() => (region.textContent = sentence));
}
