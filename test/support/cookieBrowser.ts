/**
 * A browser's cookie jar and navigation over fetch, enough for OpenID Connect redirects: cookies
 * are kept per origin and path (expired ones dropped) and sent back the way a browser would, and
 * redirects are followed one hop at a time so a test sees where each leads.
 */
interface Cookie {
  name: string;
  value: string;
  origin: string;
  path: string;
}

export class CookieBrowser {
  private cookies: Cookie[] = [];

  private cookieHeader(url: URL) {
    return this.cookies
      .filter((c) => c.origin === url.origin && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private remember(url: URL, response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attr = Object.fromEntries(attributes.map((a) => [a.split('=')[0]!.toLowerCase(), a.split('=').slice(1).join('=')]));
      const path = attr.path || url.pathname.replace(/\/[^/]*$/, '') || '/';
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.origin === url.origin && c.path === path));
      const expired = (attr.expires && new Date(attr.expires).getTime() <= Date.now()) || attr['max-age'] === '0' || value === '';
      if (!expired) this.cookies.push({ name, value, origin: url.origin, path });
    }
  }

  /** One request with this browser's cookies; redirects are not followed. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = this.cookieHeader(target);
    const response = await fetch(target, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    this.remember(target, response);
    return response;
  }

  /**
   * GETs `url` and follows redirects until one leaves for `stopAt` (the application's callback,
   * answered by no one here) or a page answers. Returns the final URL and response.
   */
  async navigate(url: string | URL, stopAt?: string): Promise<{ url: URL; response?: Response }> {
    let current = new URL(url);
    for (let hops = 0; hops < 10; hops += 1) {
      if (stopAt && current.href.startsWith(stopAt)) return { url: current };
      const response = await this.fetch(current);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
      await response.body?.cancel();
      current = new URL(location, current);
    }
    throw new Error(`too many redirects from ${String(url)}`);
  }
}
