/**
 * The floors a sign-in is compared with, measured in the same run: the ES256 work the server does
 * for one sign-in with jose (as the service does), and the database writes of one sign-in as one
 * raw postgres.js transaction on the same tables.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, jwtVerify } from 'jose';
import postgres from 'postgres';
import { inPool } from './util.js';

/** Microseconds per ES256 verify (a key imported once, as the service caches it) and per ES256 signature. */
export async function cryptoFloor(iterations: number) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const sign = () => new SignJWT({ challengeId: randomUUID(), decision: 'approve' }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().sign(privateKey);
  const tokens: string[] = [];
  for (let i = 0; i < 50; i++) tokens.push(await sign());
  let start = performance.now();
  for (let i = 0; i < iterations; i++) await sign();
  const signMicros = ((performance.now() - start) * 1000) / iterations;
  start = performance.now();
  for (let i = 0; i < iterations; i++) await jwtVerify(tokens[i % tokens.length]!, publicKey);
  const verifyMicros = ((performance.now() - start) * 1000) / iterations;
  return { signMicros, verifyMicros };
}

/**
 * What a sign-in writes, in one transaction on the service's own tables: insert the attempt (its
 * challenge is the same row) and its sign-in log, approve it, complete it, finish the log, insert
 * the session. `transactions` run `concurrency` at a time (the service's pool size); the cost is
 * wall time over count, so it is what the machine gives, not one connection's latency.
 */
export async function postgresFloor(databaseUrl: string, o: { transactions: number; concurrency: number }) {
  const sql = postgres(databaseUrl, { max: o.concurrency, onnotice: () => {} });
  try {
    const [user] = await sql<{ id: string; tenant_id: string; user_principal_name: string }[]>`select id, tenant_id, user_principal_name from users where not is_admin limit 1`;
    if (!user) throw new Error('postgresFloor needs a user: run it after set-up');
    const [device] = await sql<{ id: string }[]>`select id from devices where user_id = ${user.id} limit 1`;
    const writes = () =>
      sql.begin(async (tx) => {
        const [attempt] = await tx<{ id: string }[]>`
          insert into sign_in_attempts (tenant_id, user_id, kind, number, number_style, nonce, secret_hash, app_name, ip_address, location, expires_at)
          values (${user.tenant_id}, ${user.id}, 'PHONE_SIGN_IN', '42', 'TYPED', ${randomBytes(32).toString('base64url')}, ${randomBytes(32).toString('hex')}, 'Benchmark', '127.0.0.1', 'unknown', now() + interval '2 minutes')
          returning id`;
        await tx`
          insert into sign_in_logs (tenant_id, user_id, user_principal_name, attempt_id, method, status, app_name, ip_address, location, number_style)
          values (${user.tenant_id}, ${user.id}, ${user.user_principal_name}, ${attempt!.id}, 'PHONE_SIGN_IN', 'INTERRUPTED', 'Benchmark', '127.0.0.1', 'unknown', 'TYPED')`;
        await tx`
          update sign_in_attempts set status = 'APPROVED', resolved_at = now(), responding_device_id = ${device?.id ?? null}, user_verification = 'biometric', amr = ${tx.json(['user', 'swk'])}
          where id = ${attempt!.id} and status = 'PENDING' and expires_at > now()`;
        await tx`update sign_in_attempts set status = 'COMPLETED', completed_at = now() where id = ${attempt!.id} and status = 'APPROVED'`;
        await tx`update sign_in_logs set status = 'SUCCESS', device_id = ${device?.id ?? null}, updated_at = now() where attempt_id = ${attempt!.id}`;
        await tx`insert into sessions (tenant_id, user_id, amr, expires_at) values (${user.tenant_id}, ${user.id}, ${tx.json(['user', 'swk'])}, now() + interval '1 hour')`;
      });
    for (let i = 0; i < o.concurrency; i++) await writes();
    const start = performance.now();
    await inPool(Array.from({ length: o.transactions }), o.concurrency, () => writes().then(() => undefined));
    return { transactionMicros: ((performance.now() - start) * 1000) / o.transactions, concurrency: o.concurrency };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
