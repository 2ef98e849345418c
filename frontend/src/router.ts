// The pages with an address: Back and Forward move between them, a reload or a shared link opens the same
// page. The server answers the page (index.html) for the first segment of each of these paths: SPA_ROUTES
// in lambdas/api/app.py, held equal to SPA_SEGMENTS below by tests/router.test.ts.
import { createRouter, createWebHistory, type RouteLocationNormalized, type RouterHistory } from 'vue-router'
import AnalysePage from './pages/AnalysePage.vue'
import AnalyticsPage from './pages/AnalyticsPage.vue'
import HistoryPage from './pages/HistoryPage.vue'
import OpsPage from './pages/OpsPage.vue'

export type Page = 'analyse' | 'history' | 'ops' | 'analytics'

export const PAGE_LABELS: Record<Page, string> = { analyse: 'Analyse', history: 'History', ops: 'Ops', analytics: 'Analytics' }
export const PAGES = Object.keys(PAGE_LABELS) as Page[]

/** The pages for one group only (the API refuses the others with 403 too): Cognito's groups, which the
 *  local issuer gives the local user both of. */
export const PAGE_ROLES: Partial<Record<Page, { group: string; who: string }>> = {
  ops: { group: 'operators', who: 'operators' },
  analytics: { group: 'analysts', who: 'analysts' },
}

/** The pages the navigation offers to a user in these groups. */
export function pagesFor(groups: readonly string[]): Page[] {
  return PAGES.filter((p) => {
    const role = PAGE_ROLES[p]
    return !role || groups.includes(role.group)
  })
}

/** Why this user may not see the page (opened by its address), or null when they may. */
export function pageRefusal(page: Page, groups: readonly string[]): string | null {
  const role = PAGE_ROLES[page]
  if (!role || groups.includes(role.group)) return null
  return `The ${PAGE_LABELS[page]} view is for ${role.who}: ask an administrator to add you to the “${role.group}” group.`
}

// Each route names its page, its title and the component App.vue's RouterView draws for it. / and a run's
// /run/<id> are the same analyse page (going from one to the other keeps it: the run replaces the photo in
// place); its state is the shell's (useAnalyse), so it outlives a visit to History.
export const ROUTES = [
  { path: '/', name: 'analyse', component: AnalysePage, meta: { page: 'analyse', title: 'Analyse' } },
  { path: '/run/:id', name: 'run', component: AnalysePage, meta: { page: 'analyse', title: 'Run' } },
  { path: '/history', name: 'history', component: HistoryPage, meta: { page: 'history', title: 'History' } },
  { path: '/ops', name: 'ops', component: OpsPage, meta: { page: 'ops', title: 'Ops' } },
  { path: '/analytics', name: 'analytics', component: AnalyticsPage, meta: { page: 'analytics', title: 'Analytics' } },
  // Any other address is the first page (the server never answers one with the page anyway).
  { path: '/:unknown(.*)*', redirect: '/' },
]

/** The first segments of the paths above that the server must answer with the page ('' is the root). */
export const SPA_SEGMENTS = [...new Set(ROUTES.map((r) => r.path.split('/')[1]).filter((s) => s && !s.startsWith(':')))]

export function pageOf(route: Pick<RouteLocationNormalized, 'meta'>): Page {
  return (route.meta.page as Page | undefined) ?? 'analyse'
}

export function createAppRouter(history: RouterHistory = createWebHistory()) {
  return createRouter({
    history,
    routes: ROUTES,
    // Back and Forward return where the page was; a new page starts at its top; the run replacing the
    // photo (or the photo coming back) on the analyse page keeps the scroll where it is.
    scrollBehavior(to, from, saved) {
      if (saved) return saved
      return pageOf(to) === pageOf(from) ? false : { top: 0 }
    },
  })
}
