// What really ran, in words for the badge on a result: the model and its weights, or, when no
// weights were installed, the classical algorithm that stood in, named as a fallback.
import type { OperationSpec } from './operations'
import { deviceWords, modelWords } from './words'

export interface WhatRan {
  fallback: boolean
  /** The model in words, or the classical method that stood in for it and why. */
  text: string
  /** Where it ran, in words ("the CPU"), when the job said. */
  device: string | null
}

/** `spec`: the operation that ran, whose served ai_model names the weights a fallback stood in for. */
export function whatRan(spec: Pick<OperationSpec, 'name' | 'aiModel'>, metadata: Record<string, unknown> | undefined): WhatRan | null {
  if (!metadata) return null
  const weights = typeof metadata.weights === 'string' ? metadata.weights : ''
  const fallback = metadata.fallback === true || weights.startsWith('fallback: ')
  const device = typeof metadata.device === 'string' && metadata.device ? deviceWords(metadata.device) : null
  if (fallback) {
    const algorithm = weights.startsWith('fallback: ') ? weights.slice('fallback: '.length) : String(metadata.model ?? 'classical')
    const needed = spec.aiModel ?? 'model'
    return { fallback, text: `${modelWords(algorithm)} (no ${needed} weights installed)`, device }
  }
  const model = metadata.model ? modelWords(String(metadata.model)) : spec.name
  return { fallback, text: model, device }
}

/** What the jobs warned about (a mask over the whole image, a result equal to its input), from their metadata. */
export function jobWarnings(metadata: Record<string, unknown> | undefined): string[] {
  return Object.values(metadata ?? {}).flatMap((m) => {
    const list = (m as { warnings?: unknown } | null)?.warnings
    return Array.isArray(list) ? list.map(String) : []
  })
}

interface Size {
  width: number
  height: number
}

function sizeIn(value: unknown): Size | null {
  const size = value as { width?: unknown; height?: unknown } | null | undefined
  return typeof size?.width === 'number' && typeof size?.height === 'number' ? { width: size.width, height: size.height } : null
}

/**
 * The image's size before and after, in words ("256 × 256 px → 1024 × 1024 px", or "512 × 384 px, unchanged"),
 * from the jobs' metadata: the first job's input and the last job's output, in the order the jobs ran
 * (the metadata is keyed by job, in that order). Null when a side is not recorded.
 */
export function sizeChange(metadata: Record<string, unknown> | undefined): string | null {
  const jobs = Object.values(metadata ?? {}) as ({ input?: unknown; output?: unknown } | null)[]
  const input = jobs.map((j) => sizeIn(j?.input)).find((s) => s !== null) ?? null
  const output = [...jobs].reverse().map((j) => sizeIn(j?.output)).find((s) => s !== null) ?? null
  if (!input || !output) return null
  const words = (s: Size) => `${s.width} × ${s.height} px`
  if (input.width === output.width && input.height === output.height) return `${words(input)}, unchanged`
  return `${words(input)} → ${words(output)}`
}
