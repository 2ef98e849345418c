// Ops for operators, Analytics for analysts: the navigation offers each page only to its group, and a page
// opened by its address says who it is for instead of loading.
import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import App from '../src/App.vue'
import { ApiClient, groupsInToken } from '../src/lib/api'
import { createAppRouter, pageRefusal, pagesFor } from '../src/router'
import { json, scriptedFetch } from './fakes'

/** An unsigned JWT with these claims: the page only reads it (the API checks the signature). */
function token(claims: Record<string, unknown>): string {
  const part = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return `${part({ alg: 'RS256' })}.${part({ sub: 'carol', ...claims })}.signature`
}

async function signedInAs(groups: string[] | undefined, path = '/') {
  window.history.replaceState(null, '', path)
  const claims = groups === undefined ? {} : { 'cognito:groups': groups }
  const { fetcher, calls } = scriptedFetch([
    (url) => (url === '/authorize' ? json({ access_token: token(claims), expires_in: 60, user: 'carol' }) : undefined),
    (url) => (url.startsWith('/image-ai-analysis') ? json({ items: [], next_cursor: null }) : undefined),
    (url) => (url.startsWith('/analytics/queries') ? json({ queries: [] }) : undefined),
  ])
  const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
  await flushPromises()
  const tabs = app.findAll('nav[aria-label="Pages"] a').map((a) => a.attributes('data-testid'))
  return { app, tabs, calls }
}

describe('the navigation by role', () => {
  beforeEach(() => {
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
  })

  it('offers Ops and Analytics to a user in both groups (the local user)', async () => {
    const { tabs } = await signedInAs(['operators', 'analysts'])
    expect(tabs).toEqual(['tab-analyse', 'tab-history', 'tab-ops', 'tab-analytics'])
  })

  it('hides both from a user in neither group, and each from a user without its group', async () => {
    expect((await signedInAs(undefined)).tabs).toEqual(['tab-analyse', 'tab-history'])
    expect((await signedInAs(['analysts'])).tabs).toEqual(['tab-analyse', 'tab-history', 'tab-analytics'])
    expect((await signedInAs(['operators'])).tabs).toEqual(['tab-analyse', 'tab-history', 'tab-ops'])
  })

  it('says who the Ops page is for when opened by its address, and asks the API nothing for it', async () => {
    const { app, calls } = await signedInAs(['analysts'], '/ops')
    expect(app.get('[data-testid="page-refused"]').text()).toContain('The Ops view is for operators')
    expect(app.find('#ops-title').exists()).toBe(false)
    expect(calls.some((c) => c.url.includes('/events'))).toBe(false)
  })

  it('opens the Analytics page by its address for an analyst, and refuses it to an operator', async () => {
    expect((await signedInAs(['analysts'], '/analytics')).app.find('#analytics-title').exists()).toBe(true)
    const refused = await signedInAs(['operators'], '/analytics')
    expect(refused.app.get('[data-testid="page-refused"]').text()).toContain('The Analytics view is for analysts')
  })
})

describe('roles from the token', () => {
  it("reads the groups claim, and nothing from a token it cannot read or a claim that is not a list", () => {
    expect(groupsInToken(token({ 'cognito:groups': ['operators', 7] }))).toEqual(['operators'])
    expect(groupsInToken(token({ 'cognito:groups': 'operators' }))).toEqual([])
    expect(groupsInToken('not a token')).toEqual([])
  })

  it('maps groups to pages and refusals', () => {
    expect(pagesFor([])).toEqual(['analyse', 'history'])
    expect(pageRefusal('history', [])).toBeNull()
    expect(pageRefusal('ops', ['operators'])).toBeNull()
    expect(pageRefusal('ops', [])).toMatch(/^The Ops view is for operators/)
  })
})
