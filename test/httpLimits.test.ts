import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const MIB = 1024 * 1024;

/**
 * POSTs a valid GraphQL request padded to `totalBytes` in chunked encoding (no Content-Length),
 * writing as fast as the server reads, and stops writing when the answer comes.
 */
function chunkedPost(totalBytes: number) {
  const head = '{"query":"{ __typename }","variables":{"pad":"';
  const tail = '"}}';
  const chunk = Buffer.alloc(64 * 1024, 'a');
  return new Promise<{ status: number; body: string; sentBytes: number; ms: number }>((resolve, reject) => {
    const started = performance.now();
    let sentBytes = 0;
    let answered = false;
    const req = request(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (data) => (body += data));
      res.on('end', () => resolve({ status: res.statusCode!, body, sentBytes, ms: performance.now() - started }));
    });
    // Once the server has answered and closed, further writes fail; that is the point.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const write = () => {
      req.write(head);
      sentBytes += head.length;
      const pump = () => {
        while (!answered && sentBytes + chunk.length + tail.length <= totalBytes) {
          sentBytes += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end(tail, () => (sentBytes += tail.length));
      };
      pump();
    };
    write();
  });
}

describe('the request body limit', () => {
  // Attack: a 20 MiB POST in chunked encoding, which carries no Content-Length to check up front.
  it('refuses a chunked body with 413 once it passes 1 MiB, without reading the rest', async () => {
    const answer = await chunkedPost(20 * MIB);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ errors: [{ message: 'The request body is larger than 1 MiB.', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    // Refused while most of the body was still unsent: the server stopped reading, it did not drain it.
    expect(answer.sentBytes).toBeLessThan(10 * MIB);
    expect(answer.ms).toBeLessThan(5000);
  });

  it('still serves a chunked body under the limit, and refuses a declared Content-Length over it', async () => {
    const small = await chunkedPost(512 * 1024);
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body)).toEqual({ data: { __typename: 'Query' } });

    const declared = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(MIB + 1) });
    expect(declared.status).toBe(413);
  });
});
