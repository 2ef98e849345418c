// History: the past executions listed a page at a time, the originals' names, and deleting one.
import { ref } from 'vue'
import type { ApiClient, Execution } from '../lib/api'

// The original's name and each result's download name are the server's (kept with the upload; the
// download link's Content-Disposition names the file the same way), so History, the link and the saved
// file agree. Without them (an older server) the browser's own naming of the link applies.
export function originalName(e: Execution): string | null {
  const served = (e as { original_name?: unknown }).original_name
  return typeof served === 'string' && served ? served : null
}

/** failed: a message for the page's banner; removed: an execution was deleted (after it left the list). */
export function useHistory(
  api: Pick<ApiClient, 'history' | 'remove'>,
  hooks: { failed: (message: string) => void; removed?: (id: string) => void },
) {
  const history = ref<Execution[]>([])
  const historyCursor = ref<string | null>(null)
  const names = ref<Record<string, string>>({})

  async function loadHistory(more = false) {
    try {
      const page = await api.history(20, more ? historyCursor.value : null)
      history.value = more ? [...history.value, ...page.items] : page.items
      names.value = Object.fromEntries(
        history.value.flatMap((e) => {
          const name = originalName(e)
          return name ? [[e.execution_id, name]] : []
        }),
      )
      historyCursor.value = page.next_cursor
    } catch (e) {
      hooks.failed((e as Error).message)
    }
  }

  // Delete from History: the execution and its results go (the original upload stays).
  async function removeExecution(id: string) {
    try {
      await api.remove(id)
      history.value = history.value.filter((h) => h.execution_id !== id)
      hooks.removed?.(id)
    } catch (e) {
      hooks.failed((e as Error).message)
    }
  }

  return { history, historyCursor, names, loadHistory, removeExecution }
}

export type History = ReturnType<typeof useHistory>
