// A scripted fetch: each call is matched against the routes in order; unmatched calls fail the test.
import type { Execution } from '../src/lib/api'

export type Route = (url: string, init: RequestInit) => Response | undefined

import served from './served-operations.json'

export function json(body: unknown, status = 200, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } })
}

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): Response {
  return json({ type: 'about:blank', title: 'x', status, detail, ...extra }, status, 'application/problem+json')
}

export function scriptedFetch(routes: Route[]) {
  const calls: { url: string; init: RequestInit }[] = []
  const fetcher = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = String(input)
    calls.push({ url, init })
    for (const route of routes) {
      const response = route(url, init)
      if (response) return response
    }
    if (url === '/operations') return json(served) // the real schema, as the server serves it
    throw new Error(`unexpected request ${init.method ?? 'GET'} ${url}`)
  }
  return { fetcher: fetcher as typeof fetch, calls }
}

/** A result link as the server lists it (filename: its download name, after the original). */
export function result(job: string, key: string, url: string, contentType = 'image/png', filename: string | null = null) {
  const link = { job, key, url, content_type: contentType, filename }
  return link as Execution['results'][number]
}

export function execution(overrides: Partial<Execution> = {}): Execution {
  const progress = { stage: 'tiles', done: 1, total: 4, percent: 42, elapsed_s: null, remaining_s: null }
  return {
    execution_id: '01J000000000000000000000AA',
    operation: 'upscale',
    status: 'RUNNING',
    current_state: 'Upscale',
    progress,
    started_at: '2026-01-01T10:00:00Z',
    finished_at: null,
    duration_s: null,
    input_key: 'uploads/local/U1/original.png',
    input_url: '/downloads/input-token',
    options: {},
    error: null,
    results: [],
    metadata: {},
    images: [],
    thumbnail: null,
    // Fields a newer server adds (outcome, unchanged) are left to `overrides`: the cast keeps this fake
    // building against the api-types of either.
    ...overrides,
  } as Execution
}

/** A PNG of only a signature and an IHDR saying width×height: no pixel data at all. */
export function pngHeader(width: number, height: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(33)
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  new DataView(bytes.buffer).setUint32(16, width)
  new DataView(bytes.buffer).setUint32(20, height)
  return bytes
}
