import { describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR, FRESH_LOGIN_TOLERANCE_S, acrFor, loginSatisfies, redirectUriProblem } from './oidc.js';

describe('redirect URIs an application may register', () => {
  it('takes https anywhere and http on loopback only', () => {
    expect(redirectUriProblem('https://app.example.com/callback')).toBeNull();
    for (const uri of ['http://127.0.0.1:3000/cb', 'http://[::1]:3000/cb', 'http://localhost/cb']) expect(redirectUriProblem(uri)).toBeNull();
    expect(redirectUriProblem('http://app.example.com/cb')).toMatch(/use https/);
    expect(redirectUriProblem('http://127.0.0.1.evil.example/cb')).toMatch(/use https/);
  });

  it('refuses fragments, credentials, other schemes and relative URLs', () => {
    expect(redirectUriProblem('https://app.example.com/cb#token')).toMatch(/fragment/);
    expect(redirectUriProblem('https://user:pw@app.example.com/cb')).toMatch(/user name or password/);
    expect(redirectUriProblem('javascript:alert(1)')).toMatch(/use https/);
    expect(redirectUriProblem('/callback')).toMatch(/not an absolute URL/);
  });
});

describe('what a login answers', () => {
  it('gives the multi-factor class only to sign-ins with mfa in their amr', () => {
    expect(acrFor(['mfa', 'pop', 'pin'])).toBe(ACR_MULTI_FACTOR);
    expect(acrFor(['pwd'])).toBe(ACR_SINGLE_FACTOR);
  });

  it('takes any sign-in unless the request asked for a fresh one (prompt=login or max_age)', () => {
    const requestedAt = 1_000_000;
    const old = requestedAt - 3600;
    expect(loginSatisfies(['no_session'], old, requestedAt)).toBe(true);
    for (const reason of ['login_prompt', 'max_age']) {
      expect(loginSatisfies([reason], old, requestedAt)).toBe(false);
      expect(loginSatisfies([reason], requestedAt - FRESH_LOGIN_TOLERANCE_S, requestedAt)).toBe(true);
      expect(loginSatisfies([reason], requestedAt - FRESH_LOGIN_TOLERANCE_S - 1, requestedAt)).toBe(false);
      expect(loginSatisfies([reason], requestedAt + 10, requestedAt)).toBe(true);
    }
  });
});
