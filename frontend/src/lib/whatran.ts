// What really ran, in words for the badge on a result: the model and its weights, or, when no
// weights were installed, the classical algorithm that stood in, named as a fallback.

// Which weights each operation's AI model would have needed (the README says how to install them).
const MODEL_WEIGHTS: Record<string, string> = { inpaint: 'LaMa', denoise: 'DRUNet', upscale: 'Real-ESRGAN' }

export interface WhatRan {
  fallback: boolean
  text: string
}

export function whatRan(operation: string, metadata: Record<string, unknown> | undefined): WhatRan | null {
  if (!metadata) return null
  const weights = typeof metadata.weights === 'string' ? metadata.weights : ''
  const fallback = metadata.fallback === true || weights.startsWith('fallback: ')
  if (fallback) {
    const algorithm = weights.startsWith('fallback: ') ? weights.slice('fallback: '.length) : String(metadata.model ?? 'classical')
    const needed = MODEL_WEIGHTS[operation] ?? 'model'
    return { fallback, text: `Classical fallback: ${algorithm} (no ${needed} weights installed; see README)` }
  }
  const model = metadata.model ? String(metadata.model) : operation
  const sha = typeof metadata.weights_sha256 === 'string' ? ` · sha256 ${metadata.weights_sha256.slice(0, 12)}…` : ''
  return { fallback, text: `${model}${weights ? ` · ${weights}` : ''}${sha}` }
}

/** What the jobs warned about (a mask over the whole image, a result equal to its input), from their metadata. */
export function jobWarnings(metadata: Record<string, unknown> | undefined): string[] {
  return Object.values(metadata ?? {}).flatMap((m) => {
    const list = (m as { warnings?: unknown } | null)?.warnings
    return Array.isArray(list) ? list.map(String) : []
  })
}
