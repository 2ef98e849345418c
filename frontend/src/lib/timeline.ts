// An execution's event history as a timeline of states, as the Step Functions console's graph view
// tells it: each state's start and duration, how often its task was retried, and the error it ended with.
import type { HistoryEvent } from './api'

export interface StateSpan {
  name: string
  kind: string // Task, Choice, Pass, Fail, …
  startMs: number // since the execution started
  endMs: number | null // null: still in it
  retries: number
  error: string | null
}

export interface Timeline {
  spans: StateSpan[]
  totalMs: number
  outcome: string | null // Succeeded, Failed, Aborted, TimedOut; null while it runs
  error: string | null // the execution's own error and cause
}

type Details = { error?: string; cause?: string }

function failure(details: Details | undefined): string | null {
  if (!details) return null
  const cause = details.cause && details.cause.length > 300 ? `${details.cause.slice(0, 300)}…` : details.cause
  return [details.error, cause].filter(Boolean).join(': ') || null
}

/** Read the events forward: a state's span runs from its …StateEntered to its …StateExited. */
export function timeline(events: HistoryEvent[], now: number = Date.now()): Timeline {
  const t0 = events.length ? new Date(events[0].timestamp).getTime() : now
  const at = (e: HistoryEvent) => new Date(e.timestamp).getTime() - t0
  const spans: StateSpan[] = []
  const open = new Map<string, StateSpan>()
  let scheduled = 0 // task starts in the open span: every one after the first is a retry
  let outcome: string | null = null
  let error: string | null = null
  let lastMs = 0
  for (const event of events) {
    lastMs = Math.max(lastMs, at(event))
    const entered = event.type.match(/^(\w+)StateEntered$/)
    const exited = event.type.match(/^(\w+)StateExited$/)
    if (entered && event.stateEnteredEventDetails) {
      const span = { name: event.stateEnteredEventDetails.name, kind: entered[1], startMs: at(event), endMs: null, retries: 0, error: null }
      spans.push(span)
      open.set(span.name, span)
      scheduled = 0
    } else if (exited && event.stateExitedEventDetails) {
      const span = open.get(event.stateExitedEventDetails.name)
      if (span) {
        span.endMs = at(event)
        open.delete(span.name)
      }
    } else if (/(Task|LambdaFunction)Scheduled$/.test(event.type)) {
      scheduled += 1
      const span = spans[spans.length - 1]
      if (span && scheduled > 1) span.retries = scheduled - 1
    } else if (/(Task|LambdaFunction)(Failed|TimedOut|StartFailed|SubmitFailed)$/.test(event.type)) {
      const key = Object.keys(event).find((k) => k.endsWith('EventDetails'))
      const span = spans[spans.length - 1]
      if (span) span.error = failure(key ? (event[key] as Details) : undefined)
    } else {
      const ended = event.type.match(/^Execution(Succeeded|Failed|Aborted|TimedOut)$/)
      if (ended) {
        outcome = ended[1]
        const key = Object.keys(event).find((k) => k.endsWith('EventDetails'))
        error = ended[1] === 'Succeeded' ? null : failure(key ? (event[key] as Details) : undefined)
      }
    }
  }
  // A span a failure ended has no exit event: it ends where the execution did.
  for (const span of open.values()) if (outcome) span.endMs = lastMs
  const totalMs = outcome ? lastMs : Math.max(lastMs, now - t0)
  return { spans, totalMs, outcome, error }
}

export function durationInWords(ms: number): string {
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`
  const minutes = Math.floor(s / 60)
  return `${minutes} min ${Math.round(s - minutes * 60)} s`
}
