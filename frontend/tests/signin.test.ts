import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiClient } from '../src/lib/api'
import { pkcePair, signIn } from '../src/lib/signin'
import { json, problem, scriptedFetch } from './fakes'

function fakeLocation(search = ''): Location {
  return { search, origin: 'https://app.example', pathname: '/', hash: '', assign: vi.fn() } as unknown as Location
}

const hint = {
  sign_in: {
    authorize_endpoint: 'https://auth.example/oauth2/authorize',
    client_id: 'spa-client',
    redirect_uri: 'https://app.example/',
    scope: 'openid email profile',
    state: 'state-from-the-server',
  },
}

describe('signIn', () => {
  beforeEach(() => sessionStorage.clear())

  it('locally, takes the tokens /authorize hands out', async () => {
    const { fetcher } = scriptedFetch([() => json({ access_token: 'T', expires_in: 60, user: 'local' })])
    const api = new ApiClient('', fetcher)
    await signIn(api, fakeLocation())
    expect(api.user).toBe('local')
  })

  it('with Cognito, goes to the Hosted UI with a PKCE S256 challenge and keeps the verifier', async () => {
    const { fetcher } = scriptedFetch([() => problem(401, 'sign in through the hosted sign-in page', hint)])
    const location = fakeLocation()
    void signIn(new ApiClient('', fetcher), location)
    await vi.waitFor(() => expect(location.assign).toHaveBeenCalled())
    const url = new URL(vi.mocked(location.assign).mock.calls[0][0] as string)
    expect(url.origin + url.pathname).toBe('https://auth.example/oauth2/authorize')
    expect(url.searchParams.get('response_type')).toBe('code')
    expect(url.searchParams.get('client_id')).toBe('spa-client')
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    const { verifier, redirect } = JSON.parse(sessionStorage.getItem('aiorch.pkce_verifier')!)
    expect(redirect).toBe('https://app.example/')
    expect(url.searchParams.get('redirect_uri')).toBe(redirect)
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
    const expected = btoa(String.fromCharCode(...new Uint8Array(digest))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    expect(url.searchParams.get('code_challenge')).toBe(expected)
    expect(url.searchParams.get('state')).toBe('state-from-the-server')
  })

  it('back from the Hosted UI, exchanges the code with the stored verifier', async () => {
    sessionStorage.setItem('aiorch.pkce_verifier', JSON.stringify({ verifier: 'v'.repeat(64), redirect: 'https://app.example/cb' }))
    const { fetcher, calls } = scriptedFetch([() => json({ access_token: 'T', expires_in: 60, user: 'sub-1' })])
    const api = new ApiClient('', fetcher)
    await signIn(api, fakeLocation('?code=abc&state=s1'))
    const query = new URL(calls[0].url, 'https://app.example').searchParams
    expect(query.get('code')).toBe('abc')
    expect(query.get('state')).toBe('s1') // sent back for the server to check against its cookie
    expect(query.get('code_verifier')).toBe('v'.repeat(64))
    expect(query.get('redirect_uri')).toBe('https://app.example/cb')
    expect(api.user).toBe('sub-1')
    expect(sessionStorage.getItem('aiorch.pkce_verifier')).toBeNull()
  })

  it('makes verifiers of the length RFC 7636 asks for', async () => {
    const { verifier } = await pkcePair()
    expect(verifier.length).toBeGreaterThanOrEqual(43)
    expect(verifier.length).toBeLessThanOrEqual(128)
    expect(verifier).toMatch(/^[A-Za-z0-9_-]+$/)
  })
})
