import { describe, expect, it } from 'vitest'
import { ApiClient } from '../src/lib/api'
import { json, scriptedFetch } from './fakes'

// A named query is started (202) and polled; no request waits for Athena.
describe('ApiClient.runQuery', () => {
  it('starts the query, polls while it answers 202 and returns the 200 answer', async () => {
    const run = { name: 'top_errors', query_id: 'q1', state: 'RUNNING', answer_url: '/analytics/queries/top_errors/runs/q1' }
    const answer = { name: 'top_errors', query_id: 'q1', state: 'SUCCEEDED', columns: ['error_type'], rows: [] }
    let polls = 0
    const { fetcher, calls } = scriptedFetch([
      (url, init) => (url === '/analytics/queries/top_errors/runs' && init.method === 'POST' ? json(run, 202) : undefined),
      (url) => (url === run.answer_url ? (++polls < 3 ? json(run, 202) : json(answer)) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'analyst')

    await expect(api.runQuery('top_errors', 0)).resolves.toEqual(answer)
    expect(calls.map((c) => `${c.init.method ?? 'GET'} ${c.url}`)).toEqual([
      'POST /analytics/queries/top_errors/runs',
      `GET ${run.answer_url}`,
      `GET ${run.answer_url}`,
      `GET ${run.answer_url}`,
    ])
  })

  it('gives up with a plain error when the query is still running at the deadline', async () => {
    const run = { name: 'slow', query_id: 'q2', state: 'RUNNING', answer_url: '/analytics/queries/slow/runs/q2' }
    const { fetcher } = scriptedFetch([
      (_url, init) => (init.method === 'POST' ? json(run, 202) : undefined),
      (url) => (url === run.answer_url ? json(run, 202) : undefined),
    ])
    const api = new ApiClient('', fetcher)
    api.useToken('T', 'analyst')
    await expect(api.runQuery('slow', 0, 0)).rejects.toThrow('still running')
  })
})
