// File names for results: named after the original and what was done to it (photo-upscaled-4x.png),
// as the API's Content-Disposition names a download; the browser sets the same name on its link.

/** The original's name without folders, control characters or quotes, at most 100 characters of stem. */
export function originalStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  const stem = base.replace(/\.[^.]*$/, '')
  // eslint-disable-next-line no-control-regex
  const clean = stem.replace(/[\u0000-\u001f\u007f"'`<>:|?*]/g, '').trim().slice(0, 100)
  return clean || 'image'
}

/** The upscale factor a request asks for: its outscale, else its model's own scale (x2, x3, else 4). */
function upscaleFactor(options: Record<string, unknown>): string {
  if (typeof options.outscale === 'number') return String(options.outscale)
  const model = typeof options.model === 'string' ? options.model : ''
  return model.match(/-x([23])$/)?.[1] ?? '4'
}

/** What was done, as a name's suffix: upscaled-4x, denoised, inpainted. */
export function operationSuffix(operation: string, options: Record<string, unknown>): string {
  if (operation === 'upscale') return `upscaled-${upscaleFactor(options)}x`
  if (operation === 'denoise') return 'denoised'
  if (operation === 'inpaint') return 'inpainted'
  return operation
}

export function resultFileName(original: string, operation: string, options: Record<string, unknown>, ext: string): string {
  return `${originalStem(original)}-${operationSuffix(operation, options)}.${ext}`
}
