// What App.vue (the shell) hands to its pages: the API client, who is signed in, and the state that
// outlives a visit to another page (the analyse page's, History's).
import { inject, type InjectionKey, type Ref } from 'vue'
import type { ApiClient } from '../lib/api'
import type { Analyse } from './useAnalyse'
import type { History } from './useHistory'

export type Shell = { api: ApiClient; user: Ref<string | null>; analyse: Analyse; history: History }

export const SHELL: InjectionKey<Shell> = Symbol('shell')

export function useShell(): Shell {
  const shell = inject(SHELL)
  if (!shell) throw new Error('a page is drawn inside App.vue, which provides the shell')
  return shell
}
