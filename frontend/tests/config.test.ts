import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/lib/config'
import { json, scriptedFetch } from './fakes'

describe('loadConfig', () => {
  it("takes the API's base URL from config.json, without a trailing slash", async () => {
    const { fetcher } = scriptedFetch([() => json({ api_base_url: 'https://api.example/' })])
    expect(await loadConfig(fetcher)).toEqual({ apiBaseUrl: 'https://api.example' })
  })

  it('falls back to the same origin when there is no config or it is broken', async () => {
    expect(await loadConfig(scriptedFetch([() => new Response('', { status: 404 })]).fetcher)).toEqual({ apiBaseUrl: '' })
    expect(await loadConfig(scriptedFetch([() => new Response('{oops', { status: 200 })]).fetcher)).toEqual({ apiBaseUrl: '' })
    expect(await loadConfig(scriptedFetch([() => json({ api_base_url: 42 })]).fetcher)).toEqual({ apiBaseUrl: '' })
  })
})
