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
