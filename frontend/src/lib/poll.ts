import type { ApiClient, Execution } from './api'
import { isFinal } from './api'
import type { OperationSpec } from './operations'

// How often the web app asks for a followed execution's status. The pace and the API stage's throttle
// (iac/modules/api/variables.tf) are set together: tests/unit/capacity/simulation.py reads
// MOVING_POLL_MS and the throttle and checks that 100 users polling at it leave twice the room under
// the throttle (docs/capacity.md). Every poll counts against the throttle, a 304 included.

/** The fastest pace: a job whose progress moves. No poll comes sooner than this after an answer. */
export const MOVING_POLL_MS = 2_000
/** Waiting for a GPU host: minutes, at times, with nothing to show but the wait. */
export const QUEUED_POLL_MS = 5_000
/** Each answer the same as the last (a 304) stretches the pace by this factor... */
export const UNCHANGED_SLOWDOWN = 1.5
/** ...up to this: a stage that ends is seen at most this late. */
export const UNCHANGED_POLL_MAX_MS = 8_000
/** After a failed poll, then doubling with each failure in a row... */
export const ERROR_POLL_MS = 2_000
/** ...up to this, so that a server coming back is not met by every page at once. */
export const ERROR_POLL_MAX_MS = 30_000
/** A tab nobody looks at: its page catches up as soon as it is shown again. */
export const HIDDEN_POLL_MS = 30_000
/** The most a Retry-After is honoured for (an HTTP date on a skewed clock could otherwise stop polling). */
export const RETRY_AFTER_MAX_MS = 10 * 60_000

// The stage the server gives in words (the execution's `stage`, as its steps wrote it to the index:
// aiorch/index/stages.py) that means its job waits for a GPU host, which takes a while and shows nothing new.
export const WAITING_FOR_GPU = 'queued for a GPU'
// Without that stage (a server from before it, or an execution started outside the API, whose record has
// none), the workflow's job states (STATE_FOR_JOB in aiorch/contracts.py) tell it: an execution in one of
// them whose job has written no progress yet shows the state's name as its progress stage.
const JOB_STATES = new Set(['Upscale', 'Denoise', 'DetectText', 'Inpaint'])
// What changes on every answer by itself (the clocks, the signed links), as the server's ETag leaves it
// out (lambdas/api/etag.py): an answer that differs only there is the same status.
const CHANGES_BY_ITSELF = new Set(['elapsed_s', 'remaining_s', 'stage_remaining_s', 'stage_at', 'url', 'input_url'])

/** Where polling stands after an answer (or a failure): what the next delay depends on. */
export interface PollState {
  /** The execution waits for a GPU host: its status will not move for a while. */
  waiting: boolean
  /** Answers in a row the same as the one before (304s, or the same body). */
  unchanged: number
  /** Failed polls in a row (0 after an answer). */
  errors: number
  /** The server's Retry-After, in ms from now; null when it gave none. */
  retryAfterMs: number | null
  /** The page is not shown (document.visibilityState). */
  hidden: boolean
  /** 0..1, spreads the backoff after errors so that pages refused together do not come back together. */
  jitter?: number
}

/** The delay before the next poll, in ms. */
export function nextPollDelay(state: PollState): number {
  let delay: number
  if (state.errors > 0) {
    const backoff = ERROR_POLL_MS * 2 ** (state.errors - 1) * (1 + 0.5 * (state.jitter ?? 0))
    delay = Math.min(ERROR_POLL_MAX_MS, backoff)
  } else {
    const base = state.waiting ? QUEUED_POLL_MS : MOVING_POLL_MS
    delay = Math.min(Math.max(base, UNCHANGED_POLL_MAX_MS), base * UNCHANGED_SLOWDOWN ** state.unchanged)
  }
  if (state.retryAfterMs !== null) delay = Math.max(delay, Math.min(state.retryAfterMs, RETRY_AFTER_MAX_MS))
  if (state.hidden) delay = Math.max(delay, HIDDEN_POLL_MS)
  return delay
}

/** Whether the execution's job waits for a GPU host: nothing to see for a while (without the server's stage, a job state with no progress yet, which includes its container's start). */
export function isWaiting(execution: Pick<Execution, 'status' | 'progress' | 'current_state' | 'stage'>): boolean {
  if (isFinal(execution)) return false
  if (typeof execution.stage === 'string') return execution.stage === WAITING_FOR_GPU
  const stage = execution.progress?.stage ?? ''
  return JOB_STATES.has(stage) && stage === execution.current_state
}

/** The status an answer gives, without what changes by itself: equal for two answers with one meaning. */
export function statusFingerprint(execution: Execution): string {
  return JSON.stringify(execution, (key, value) => (CHANGES_BY_ITSELF.has(key) ? undefined : value))
}

/** A Retry-After header's wait in ms from `nowMs`: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  const text = value?.trim()
  if (!text) return null
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!/[a-z]/i.test(text)) return null // not seconds, and no date either ("-5")
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs)
}

/**
 * The wait a failed poll's answer asks for: its Retry-After header where the error carries the response's
 * headers, else the problem document's `retry_after_s` (the API writes the header's figure there too).
 */
export function retryAfterOf(error: unknown, nowMs: number): number | null {
  const e = error as { headers?: { get(name: string): string | null }; body?: Record<string, unknown> }
  const fromHeader = parseRetryAfter(e?.headers?.get?.('Retry-After'), nowMs)
  if (fromHeader !== null) return fromHeader
  const seconds = e?.body?.retry_after_s
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null
}

/** Where the page is, the clock and dice, and the pace itself (a test supplies its own). */
export interface PollEnvironment {
  hidden: () => boolean
  now: () => number
  random: () => number
  pace: (state: PollState) => number
}

const browser: PollEnvironment = {
  hidden: () => typeof document !== 'undefined' && document.visibilityState === 'hidden',
  now: () => Date.now(),
  random: () => Math.random(),
  pace: nextPollDelay,
}

/**
 * Follow an execution until it ends: calls `onUpdate` with each status, `onError` when a poll fails
 * (polling goes on, backing off: the server may be restarting). The pace adapts (nextPollDelay); a page
 * shown again after being hidden polls as soon as its visible pace allows. Returns a function that stops
 * following.
 */
export function followExecution(
  api: Pick<ApiClient, 'execution'>,
  id: string,
  onUpdate: (execution: Execution) => void,
  onError: (error: Error) => void,
  environment: Partial<PollEnvironment> = {},
): () => void {
  const env = { ...browser, ...environment }
  const state: PollState = { waiting: false, unchanged: 0, errors: 0, retryAfterMs: null, hidden: false }
  let stopped = false
  let last: string | null = null // the last answer's fingerprint: the same again is an unchanged status (a 304)
  let timer: ReturnType<typeof setTimeout> | undefined
  let visibleDueAt = 0 // when the next poll would come were the page shown

  const stop = () => {
    stopped = true
    clearTimeout(timer)
    timer = undefined
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisibility)
  }
  const schedule = () => {
    const jitter = env.random()
    const visibleDelay = env.pace({ ...state, hidden: false, jitter })
    visibleDueAt = env.now() + visibleDelay
    timer = setTimeout(tick, env.hidden() ? env.pace({ ...state, hidden: true, jitter }) : visibleDelay)
  }
  function onVisibility() {
    if (stopped || timer === undefined || env.hidden()) return // a poll in flight schedules the next itself
    clearTimeout(timer)
    timer = setTimeout(tick, Math.max(0, visibleDueAt - env.now()))
  }
  async function tick() {
    timer = undefined
    if (stopped) return
    try {
      const execution = await api.execution(id)
      if (stopped) return
      const status = statusFingerprint(execution)
      state.unchanged = status === last ? state.unchanged + 1 : 0
      last = status
      Object.assign(state, { errors: 0, retryAfterMs: null, waiting: isWaiting(execution) })
      onUpdate(execution)
      if (isFinal(execution)) return stop()
    } catch (error) {
      if (stopped) return
      const status = (error as { status?: number }).status
      if (status === 304) {
        // A client that sees the 304 itself (not the browser's cache): the status as it was.
        Object.assign(state, { unchanged: state.unchanged + 1, errors: 0, retryAfterMs: null })
      } else {
        onError(error as Error)
        if (status === 404) return stop()
        Object.assign(state, { errors: state.errors + 1, retryAfterMs: retryAfterOf(error, env.now()) })
      }
    }
    schedule()
  }

  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisibility)
  void tick()
  return stop
}

/**
 * The result to show for an execution of `spec`: the image of its served result_job (an operation with an
 * OCR job before its fill also has that job's mask); without one served, the job named like the operation,
 * else the last image.
 */
export function mainResult(execution: Execution, spec: Pick<OperationSpec, 'name' | 'resultJob'>) {
  const job = spec.resultJob ?? spec.name
  const images = execution.results.filter((r) => (r.content_type ?? '').startsWith('image/'))
  return images.find((r) => r.job === job) ?? images[images.length - 1] ?? null
}
