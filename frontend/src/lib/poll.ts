import type { ApiClient, Execution } from './api'
import { isFinal } from './api'

/**
 * Follow an execution until it ends: calls `onUpdate` with each status, `onError` when a poll fails
 * (polling goes on: the server may be restarting). Returns a function that stops following.
 */
export function followExecution(
  api: Pick<ApiClient, 'execution'>,
  id: string,
  onUpdate: (execution: Execution) => void,
  onError: (error: Error) => void,
  intervalMs = 700,
): () => void {
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = async () => {
    if (stopped) return
    try {
      const execution = await api.execution(id)
      if (stopped) return
      onUpdate(execution)
      if (isFinal(execution)) return
    } catch (error) {
      if (stopped) return
      onError(error as Error)
      if ((error as { status?: number }).status === 404) return
    }
    timer = setTimeout(tick, intervalMs)
  }
  void tick()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

/** The result to show for an operation: its last job's image (inpaint also has the OCR job's mask). */
export function mainResult(execution: Execution) {
  const job = { upscale: 'upscale', denoise: 'denoise', inpaint: 'inpaint' }[execution.operation]
  const images = execution.results.filter((r) => (r.content_type ?? '').startsWith('image/'))
  return images.find((r) => r.job === job) ?? images[images.length - 1] ?? null
}
