import { describe, expect, it } from 'vitest'
import { ApiClient, ApiError } from '../src/lib/api'
import { json, problem, scriptedFetch } from './fakes'

const tokens = { access_token: 'T1', expires_in: 3600, user: 'local' }

describe('ApiClient', () => {
  it('signs in through /authorize and sends the bearer token afterwards', async () => {
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json(tokens) : undefined),
      (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [], next_cursor: null }) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    await api.signIn()
    expect(api.user).toBe('local')
    await api.history()
    expect(new Headers(calls[1].init.headers).get('Authorization')).toBe('Bearer T1')
    expect(new Headers(calls[0].init.headers).get('Authorization')).toBeNull()
  })

  it('signs out through DELETE /authorize, forgets the token and passes on where the provider signs out', async () => {
    const { fetcher, calls } = scriptedFetch([
      (url, init) =>
        url === '/authorize' && init.method === 'DELETE'
          ? json({ revoked: true, logout_url: 'https://auth.example.com/logout?client_id=c' })
          : undefined,
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'alice')
    expect(await api.signOut()).toBe('https://auth.example.com/logout?client_id=c')
    expect([api.signedIn, api.user]).toEqual([false, null])
    expect(new Headers(calls[0].init.headers).get('Authorization')).toBeNull() // the cookie is the session
  })

  it('uploads in two steps and takes the key from the local upload answer', async () => {
    const { fetcher, calls } = scriptedFetch([
      (url, init) =>
        url === '/uploads' && init.method === 'POST'
          ? json({ url: '/local-uploads/abc', fields: { 'Content-Type': 'image/png' }, file_field: 'file', max_bytes: 1000, upload: null }, 201)
          : undefined,
      (url) => (url === '/local-uploads/abc' ? json({ upload: 'uploads/local/U1/original.png' }, 201) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'local')
    const key = await api.upload(new Blob([new Uint8Array(10)], { type: 'image/png' }), 'a.png')
    expect(key).toBe('uploads/local/U1/original.png')
    // The file's own name goes with it: the server keeps it and names the downloads after it.
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ content_type: 'image/png', filename: 'a.png' })
    const form = calls[1].init.body as FormData
    expect(form.get('Content-Type')).toBe('image/png')
    expect(form.get('file')).toBeInstanceOf(Blob)
  })

  it('uses the key known in advance for an S3 presigned POST (which answers with no body)', async () => {
    const { fetcher } = scriptedFetch([
      (url) =>
        url === '/uploads'
          ? json({ url: 'https://bucket.s3.amazonaws.com/', fields: { key: 'k', policy: 'p' }, file_field: 'file', max_bytes: 1000, upload: 'uploads/u/X/original.jpg' }, 201)
          : undefined,
      (url) => (url.startsWith('https://bucket') ? new Response(null, { status: 204 }) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'u')
    expect(await api.upload(new Blob([new Uint8Array(5)], { type: 'image/jpeg' }))).toBe('uploads/u/X/original.jpg')
  })

  it('refuses an image over the limit before sending it', async () => {
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/uploads' ? json({ url: '/x', fields: {}, file_field: 'file', max_bytes: 4, upload: null }, 201) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'local')
    await expect(api.upload(new Blob([new Uint8Array(5_000_000)], { type: 'image/png' }))).rejects.toThrow(/limit is/)
    expect(calls).toHaveLength(1)
  })

  it('turns a problem document into an error with its plain-words detail', async () => {
    const { fetcher } = scriptedFetch([() => problem(404, "no upload 'uploads/x' among your uploads")])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'local')
    const error = await api.submit({ operation: 'upscale', upload: 'uploads/x', options: {} }, 'k').catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(404)
    expect(error.message).toBe("no upload 'uploads/x' among your uploads")
  })

  it('sends the Idempotency-Key with a submit', async () => {
    const { fetcher, calls } = scriptedFetch([() => json({ execution_id: 'E', status: 'RUNNING' }, 202)])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'local')
    await api.submit({ operation: 'denoise', upload: 'u', options: { method: 'tv' } }, 'key-1')
    expect(new Headers(calls[0].init.headers).get('Idempotency-Key')).toBe('key-1')
  })

  it('says in plain words when the server cannot be reached', async () => {
    const api = new ApiClient('', (async () => {
      throw new TypeError('Failed to fetch')
    }) as typeof fetch)
    await expect(api.signIn()).rejects.toThrow('The server cannot be reached')
  })

  it('signs in again once when the token has expired', async () => {
    let signIns = 0
    const { fetcher } = scriptedFetch([
      (url) => (url === '/authorize' ? (signIns++, json({ ...tokens, access_token: `T${signIns}` })) : undefined),
      (_url, init) =>
        new Headers(init.headers).get('Authorization') === 'Bearer T1' ? problem(401, 'the token has expired') : undefined,
      () => json({ items: [], next_cursor: null }),
    ])
    const api = new ApiClient('', fetcher)
    await api.signIn()
    expect(await api.history()).toEqual({ items: [], next_cursor: null })
    expect(signIns).toBe(2)
  })
})
