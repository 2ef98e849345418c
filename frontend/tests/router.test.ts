// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createMemoryHistory } from 'vue-router'
import { createAppRouter, pageOf, SPA_SEGMENTS } from '../src/router'

/** The server's list, read from its source: lambdas/api/app.py answers index.html for these first segments. */
function serversSpaRoutes(): string[] {
  const appPy = readFileSync(new URL('../../lambdas/api/app.py', import.meta.url), 'utf8')
  const found = appPy.match(/^SPA_ROUTES\s*=\s*frozenset\(\{([^}]*)\}\)/m)
  if (!found) throw new Error('SPA_ROUTES = frozenset({...}) not found in lambdas/api/app.py')
  return [...found[1].matchAll(/"([^"]+)"/g)].map((m) => m[1])
}

describe('pages with addresses', () => {
  it("are the server's SPA routes, one for one: a reload of any page gets the page, not a 404", () => {
    expect([...SPA_SEGMENTS].sort()).toEqual(serversSpaRoutes().sort())
  })

  it('names the page of each address; an unknown address is the first page', async () => {
    const router = createAppRouter(createMemoryHistory())
    const pages: Record<string, string> = {}
    for (const path of ['/', '/run/01J000000000000000000000AA', '/history', '/ops', '/analytics', '/nowhere']) {
      await router.push(path)
      pages[path] = `${pageOf(router.currentRoute.value)} ${router.currentRoute.value.path}`
    }
    expect(pages).toEqual({
      '/': 'analyse /',
      '/run/01J000000000000000000000AA': 'analyse /run/01J000000000000000000000AA',
      '/history': 'history /history',
      '/ops': 'ops /ops',
      '/analytics': 'analytics /analytics',
      '/nowhere': 'analyse /',
    })
  })
})
