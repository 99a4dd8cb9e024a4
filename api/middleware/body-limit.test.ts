import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { limitBody } from './body-limit.js';

const app = new Hono();
app.onError((err, c) => c.text(err.message, 413));
app.use(
  '*',
  limitBody(10, () => {
    throw new Error('too large');
  }),
);
app.all('/echo', async (c) => c.text(c.req.method === 'GET' ? 'get' : await c.req.text()));

describe('limitBody', () => {
  it('decides from a declared Content-Length without reading the body', async () => {
    const ok = await app.request('/echo', {
      method: 'POST',
      headers: { 'content-length': '5' },
      body: 'hello',
    });
    expect([ok.status, await ok.text()]).toEqual([200, 'hello']);
    const big = await app.request('/echo', {
      method: 'POST',
      headers: { 'content-length': '11' },
      body: 'hello world',
    });
    expect([big.status, await big.text()]).toEqual([413, 'too large']);
  });

  it('counts an undeclared or chunked body as it streams', async () => {
    const big = await app.request('/echo', { method: 'POST', body: 'hello world' });
    expect(big.status).toBe(413);
    const chunked = await app.request('/echo', {
      method: 'POST',
      headers: { 'content-length': '1', 'transfer-encoding': 'chunked' },
      body: 'hello world',
    });
    expect(chunked.status).toBe(413);
    const ok = await app.request('/echo', { method: 'POST', body: 'hello' });
    expect([ok.status, await ok.text()]).toEqual([200, 'hello']);
  });

  it('lets GET through', async () => {
    expect(await (await app.request('/echo')).text()).toBe('get');
  });
});
