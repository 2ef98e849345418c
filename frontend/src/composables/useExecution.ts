// The execution on the stage: submitting it (once, whatever the network does), following it to its end,
// cancelling it, and what it produced. Every execution has its own address, /run/<id>: a reload or a shared
// link brings it back, and one still running is followed again.
import { computed, ref } from 'vue'
import { isFinal, newIdempotencyKey, type ApiClient, type Execution, type SubmitRequest } from '../lib/api'
import { servedOperation } from '../lib/operations'
import { followExecution, mainResult } from '../lib/poll'
import { jobWarnings, whatRan } from '../lib/whatran'
import { downloadFileName } from '../lib/words'

const RUN_PATH = /^\/run\/([0-9A-Za-z]{10,40})\/?$/

/** The execution the page's address names, or null. */
export function runIdInUrl(): string | null {
  return window.location.pathname.match(RUN_PATH)?.[1] ?? null
}

/** Show another address (the page's router where there is one; a plain history entry otherwise). */
function pushPath(path: string) {
  if (window.location.pathname !== path) window.history.pushState(null, '', path)
}

/** A result's download name: the server's (after the original), else the last part of its key. */
export function resultName(r: { key: string; filename?: unknown }): string {
  return typeof r.filename === 'string' && r.filename ? r.filename : (r.key.split('/').pop() ?? 'result')
}

export function useExecution(
  api: Pick<ApiClient, 'submit' | 'execution' | 'cancel'>,
  hooks: { ended?: (e: Execution) => void; go?: (path: string) => void } = {},
) {
  const go = hooks.go ?? pushPath
  const execution = ref<Execution | null>(null)
  // The execution followed (its id is known before its first status arrives).
  const followed = ref<string | null>(null)
  // What went wrong sending or following a run, shown beside Run.
  const error = ref('')
  const busy = ref(false) // uploading and submitting
  const cancelling = ref(false)
  let stopFollowing: (() => void) | null = null
  // A submit whose answer never came is retried with the same Idempotency-Key, so it cannot start twice;
  // any other submit (a new request, or running the same one again on purpose) gets a new key.
  let unanswered: { body: string; key: string } | null = null

  // While an execution runs, Run is its Cancel: a second click cannot start a second execution.
  const running = computed(() => execution.value !== null && !isFinal(execution.value))
  const isBatch = computed(() => (execution.value?.images?.length ?? 0) > 0)
  // What is served about the execution's operation (its result's job, the AI model a fallback stands in for).
  const ran = computed(() => (execution.value ? servedOperation(execution.value.operation) : null))
  const result = computed(() => (execution.value && ran.value ? mainResult(execution.value, ran.value) : null))
  // What the jobs warned about (a mask over the whole image, a result equal to its input): not a plain "Done".
  const warnings = computed(() => jobWarnings(execution.value?.metadata))
  // The badge names what made the result shown: its job's metadata.
  const badge = computed(() => {
    const e = execution.value
    const r = result.value
    return e && r && ran.value ? whatRan(ran.value, e.metadata[r.job] as Record<string, unknown> | undefined) : null
  })
  // What the result downloads as: the original's name, the operation, the model and the scale.
  const downloadName = computed(() => {
    const [e, r] = [execution.value, result.value]
    if (!e || !r) return ''
    const original = typeof e.original_name === 'string' && e.original_name ? e.original_name : null
    if (!original) return resultName(r) // no original name known (an older server): the server's name
    const metadata = e.metadata[r.job] as Record<string, unknown> | undefined
    return downloadFileName(original, e.operation, metadata, e.options ?? {}, resultName(r))
  })

  /** Follow an execution; `first` sees its first status (a reopened run restores its form from it). */
  function follow(id: string, first?: (e: Execution) => void) {
    stopFollowing?.()
    followed.value = id
    go(`/run/${id}`)
    let seen = false
    stopFollowing = followExecution(
      api,
      id,
      (e) => {
        const wasSeen = seen
        if (!seen) first?.(e)
        seen = true
        execution.value = e
        error.value = ''
        if (isFinal(e) && wasSeen) hooks.ended?.(e) // a run just ended (not one reopened already ended)
      },
      (e) => (error.value = e.message),
    )
  }

  /** Stop following and take the execution off the stage (the run itself goes on, in History). */
  function clear(path: string | null = '/') {
    stopFollowing?.()
    stopFollowing = null
    followed.value = null
    execution.value = null
    if (path !== null) go(path)
  }

  // Submit and follow. A retry of the same request (its answer lost) keeps its Idempotency-Key, so the
  // server answers with the execution it started instead of starting a second one.
  async function submitOnce(request: SubmitRequest) {
    const body = JSON.stringify(request)
    const key = unanswered?.body === body ? unanswered.key : newIdempotencyKey()
    unanswered = { body, key }
    const submitted = await api.submit(request, key)
    unanswered = null
    execution.value = null
    follow(submitted.execution_id)
  }

  /** Run: `prepare` uploads what the request needs; then one submit. False when it failed (error says why). */
  async function start(prepare: () => Promise<SubmitRequest>): Promise<boolean> {
    busy.value = true
    error.value = ''
    try {
      await submitOnce(await prepare())
      return true
    } catch (e) {
      error.value = (e as Error).message
      return false
    } finally {
      busy.value = false
    }
  }

  async function cancel() {
    if (!execution.value) return
    cancelling.value = true
    try {
      execution.value = await api.cancel(execution.value.execution_id)
    } catch (e) {
      error.value = (e as Error).message
    } finally {
      cancelling.value = false
    }
  }

  const stop = () => stopFollowing?.()

  return {
    execution,
    followed,
    error,
    busy,
    cancelling,
    running,
    isBatch,
    result,
    warnings,
    badge,
    downloadName,
    follow,
    clear,
    start,
    cancel,
    stop,
  }
}
