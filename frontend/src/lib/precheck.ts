// The checks an image gets in the browser before anything is sent: its size in bytes, each side's
// minimum and its pixel count, against the limits GET /operations serves for the chosen operation.
// The words are ValidateInput's (lambdas/validate_input/validation.py), which refuses the same image
// when it is sent straight to the API, so the browser and the server say the same thing.
import type { ImageHeader } from './imageheader'
import type { OperationSpec } from './operations'

type Limits = NonNullable<OperationSpec['input']>

/** A byte count as the server writes it (aiorch/analysis/media.py `size_in_words`). */
export function sizeInWords(size: number): string {
  const g3 = (n: number) => String(Number(n.toPrecision(3))) // Python's "{:.3g}"
  if (size < 1000) return `${size} bytes`
  if (size < 1_000_000) return `${g3(size / 1e3)} kB`
  return `${g3(size / 1e6)} MB`
}

/**
 * Why this image cannot be sent for the operation, in the server's words, or null when it may.
 * A side the header does not give (TIFF) is left to the server, which measures it.
 */
export function imageProblem(header: ImageHeader, bytes: number, limits: Limits | null): string | null {
  if (limits === null) return null // the schema has not arrived: the server still checks everything
  if (bytes > limits.max_bytes) {
    return `the input image is ${sizeInWords(bytes)}; the limit is ${sizeInWords(limits.max_bytes)}`
  }
  const { width, height } = header
  if (width === null || height === null) return null
  if (width * height > limits.max_pixels) {
    const megapixels = ((width * height) / 1e6).toFixed(1)
    return (
      `the input image is ${width}×${height} = ${megapixels} megapixels; ` +
      `the limit for this operation is ${(limits.max_pixels / 1e6).toFixed(0)} megapixels`
    )
  }
  if (Math.min(width, height) < limits.min_side_px) {
    return `the input image is ${width}×${height}; each side must be at least ${limits.min_side_px} pixels`
  }
  return null
}
