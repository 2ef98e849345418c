// The browser's side of the /image-ai-analysis API: sign-in, uploads, executions.
// Every failure becomes an ApiError whose message is the server's plain-words `detail`.
import type { ServedOperation } from './operations'

export interface Progress {
  stage: string | null
  done: number
  total: number
  percent: number
}

export interface ResultLink {
  job: string
  key: string
  content_type: string
  url: string
}

export interface Execution {
  execution_id: string
  operation: string
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'INTERRUPTED'
  current_state: string | null
  progress: Progress
  started_at: string
  finished_at: string | null
  duration_s: number | null
  input_key: string
  input_url?: string
  options: Record<string, unknown>
  error: { type: string; message: string } | null
  results: ResultLink[]
  metadata: Record<string, unknown>
}

export interface HistoryEvent {
  id: number
  type: string
  timestamp: string
  previousEventId?: number
  stateEnteredEventDetails?: { name: string }
  stateExitedEventDetails?: { name: string }
  [detail: string]: unknown
}

export interface UploadTarget {
  url: string
  fields: Record<string, string>
  file_field: string
  max_bytes: number
  upload: string | null
}

export interface Tokens {
  access_token: string
  expires_in: number
  user: string
}

export interface NamedQuery {
  name: string
  description: string
}

export interface QueryAnswer {
  name: string
  columns: string[]
  rows: Record<string, unknown>[]
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'INTERRUPTED'])

export function isFinal(execution: Pick<Execution, 'status'>): boolean {
  return FINAL_STATUSES.has(execution.status)
}

/** The plain-words message for a failed response (a problem document, or whatever came back). */
export async function errorFrom(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {}
  try {
    body = await response.json()
  } catch {
    // not JSON: fall back to the status line
  }
  const detail = typeof body.detail === 'string' && body.detail ? body.detail : null
  const message = detail ?? `The server answered ${response.status} ${response.statusText}`.trim()
  return new ApiError(message, response.status, body)
}

type Fetch = typeof fetch

export class ApiClient {
  private token: string | null = null
  user: string | null = null

  constructor(
    private readonly base = '',
    private readonly fetcher: Fetch = (...args) => fetch(...args),
  ) {}

  get signedIn(): boolean {
    return this.token !== null
  }

  private async send(path: string, init: RequestInit = {}, authorized = true): Promise<Response> {
    const headers = new Headers(init.headers)
    if (authorized && this.token) headers.set('Authorization', `Bearer ${this.token}`)
    let response: Response
    try {
      response = await this.fetcher(this.base + path, { ...init, headers, credentials: 'same-origin' })
    } catch {
      throw new ApiError('The server cannot be reached. Is `aiorch serve` running?', 0)
    }
    if (response.status === 401 && authorized && this.token) {
      // An expired session: sign in again once and retry.
      this.token = null
      await this.signIn()
      return this.send(path, init, authorized)
    }
    if (!response.ok) throw await errorFrom(response)
    return response
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await this.send(path, init)).json() as Promise<T>
  }

  /** GET /authorize: the local user's tokens (local, loopback) or a Cognito session from a code/cookie. */
  async signIn(query = ''): Promise<Tokens> {
    const tokens = (await (await this.send(`/authorize${query}`, {}, false)).json()) as Tokens
    this.token = tokens.access_token
    this.user = tokens.user
    return tokens
  }

  useToken(token: string, user: string): void {
    this.token = token
    this.user = user
  }

  /** Ask for an upload target, then send the form to it (S3 presigned POST or the local equivalent). */
  async upload(image: Blob, filename = 'image'): Promise<string> {
    const contentType = image.type || 'image/png'
    const target = await this.json<UploadTarget>('/uploads', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content_type: contentType }),
    })
    if (image.size > target.max_bytes) {
      const mb = (n: number) => (n / 1e6).toFixed(1)
      throw new ApiError(`The image is ${mb(image.size)} MB; the limit is ${mb(target.max_bytes)} MB.`, 413)
    }
    const form = new FormData()
    for (const [name, value] of Object.entries(target.fields)) form.append(name, value)
    form.append(target.file_field, image, filename)
    let response: Response
    try {
      response = await this.fetcher(target.url, { method: 'POST', body: form })
    } catch {
      throw new ApiError('The upload could not be sent: the connection failed.', 0)
    }
    if (!response.ok) throw await errorFrom(response)
    if (target.upload) return target.upload // S3 answers with no body; the key was known in advance
    const body = (await response.json()) as { upload: string }
    return body.upload
  }

  submit(
    request: { operation: string; upload: string; mask?: string; options: Record<string, unknown> },
    idempotencyKey: string,
  ): Promise<{ execution_id: string; status: string }> {
    return this.json('/image-ai-analysis', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
      body: JSON.stringify(request),
    })
  }

  execution(id: string): Promise<Execution> {
    return this.json(`/image-ai-analysis/${encodeURIComponent(id)}`)
  }

  history(limit = 20, cursor: string | null = null): Promise<{ items: Execution[]; next_cursor: string | null }> {
    const query = new URLSearchParams({ limit: String(limit) })
    if (cursor) query.set('cursor', cursor)
    return this.json(`/image-ai-analysis?${query}`)
  }

  cancel(id: string): Promise<Execution> {
    return this.json(`/image-ai-analysis/${encodeURIComponent(id)}`, { method: 'DELETE' })
  }

  async namedQueries(): Promise<NamedQuery[]> {
    return (await this.json<{ queries: NamedQuery[] }>('/analytics/queries')).queries
  }

  /**
   * Start a named query, then poll its answer: 202 while it runs, 200 with the rows. No request waits
   * for Athena (API Gateway stops waiting after 29 s); locally DuckDB answers on the first poll.
   */
  async runQuery(name: string, intervalMs = 1000, timeoutMs = 300_000): Promise<QueryAnswer> {
    const run = await this.json<{ answer_url: string }>(`/analytics/queries/${encodeURIComponent(name)}/runs`, {
      method: 'POST',
    })
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const response = await this.send(run.answer_url)
      if (response.status === 200) return (await response.json()) as QueryAnswer
      if (Date.now() > deadline) {
        throw new ApiError(`The query ${name} is still running after ${timeoutMs / 1000} s.`, 504)
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }

  /** GET /operations: each operation's user options with their limits and defaults (public, no token). */
  async operations(): Promise<ServedOperation[]> {
    return (await this.send('/operations', {}, false)).json() as Promise<ServedOperation[]>
  }

  async events(id: string): Promise<HistoryEvent[]> {
    const body = await this.json<{ events: HistoryEvent[] }>(`/image-ai-analysis/${encodeURIComponent(id)}/events`)
    return body.events
  }
}

/** The analysts' named queries and their answers (DuckDB locally, Athena in AWS). */
export interface Analytics {
  namedQueries(): Promise<NamedQuery[]>
  runQuery(name: string): Promise<QueryAnswer>
}

/** A fresh Idempotency-Key: a retried submit (same key) maps to the same execution. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID()
}
