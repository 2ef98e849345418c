// Signing in. Locally, GET /authorize hands the local user's tokens to a page served on loopback.
// With Cognito, /authorize answers 401 with the Hosted UI's address; we go there with a PKCE challenge
// and come back with a code, which /authorize exchanges (the refresh token stays in an HttpOnly cookie).
import { ApiError, type ApiClient } from './api'

const VERIFIER_KEY = 'aiorch.pkce_verifier'

function base64url(bytes: Uint8Array): string {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)))
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return { verifier, challenge: base64url(new Uint8Array(digest)) }
}

interface SignInHint {
  authorize_endpoint: string
  client_id: string
  redirect_uri: string | null
  scope: string
  /** OAuth state: the server keeps it in a cookie and checks the one the Hosted UI sends back. */
  state?: string | null
}

/** Signs the API client in; may leave the page for the Hosted UI (then the promise never resolves). */
export async function signIn(api: ApiClient, location: Location = window.location): Promise<void> {
  const params = new URLSearchParams(location.search)
  const code = params.get('code')
  const pending = sessionStorage.getItem(VERIFIER_KEY)
  if (code && pending) {
    sessionStorage.removeItem(VERIFIER_KEY)
    // The exchange must name the same redirect URI the authorization request did.
    const { verifier, redirect } = JSON.parse(pending) as { verifier: string; redirect: string }
    const query = new URLSearchParams({ code, code_verifier: verifier, redirect_uri: redirect })
    const state = params.get('state')
    if (state) query.set('state', state)
    await api.signIn(`?${query}`)
    history.replaceState(null, '', location.pathname + location.hash)
    return
  }
  try {
    await api.signIn()
  } catch (error) {
    const hint = error instanceof ApiError ? (error.body.sign_in as SignInHint | undefined) : undefined
    if (!hint) throw error
    const { verifier, challenge } = await pkcePair()
    const redirect = hint.redirect_uri ?? redirectUri(location)
    sessionStorage.setItem(VERIFIER_KEY, JSON.stringify({ verifier, redirect }))
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: hint.client_id,
      redirect_uri: redirect,
      scope: hint.scope,
      code_challenge_method: 'S256',
      code_challenge: challenge,
    })
    if (hint.state) query.set('state', hint.state)
    location.assign(`${hint.authorize_endpoint}?${query}`)
    await new Promise(() => {}) // leaving the page
  }
}

function redirectUri(location: Location): string {
  return location.origin + location.pathname
}
