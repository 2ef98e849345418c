// The compare view's zoom and pan: the layers are drawn at `pan + zoom * point` (transform-origin at
// the top left), in the viewport's pixels.

export interface View {
  zoom: number
  pan: { x: number; y: number }
}

export const MIN_ZOOM = 1
export const MAX_ZOOM = 8

/** Keep the zoomed layer covering the viewport: no empty edge, so the "before" side is always there. */
export function clampPan(view: View, size: { width: number; height: number }): View {
  const clamp = (v: number, extent: number) => Math.min(0, Math.max(extent - view.zoom * extent, v))
  return { zoom: view.zoom, pan: { x: clamp(view.pan.x, size.width), y: clamp(view.pan.y, size.height) } }
}

/**
 * Zoom by `factor` keeping the point under the cursor where it is (as image viewers do): the layer
 * point under the cursor before, (cursor - pan) / zoom, is under it after.
 */
export function zoomAt(
  view: View,
  cursor: { x: number; y: number },
  factor: number,
  size: { width: number; height: number },
): View {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, Math.round(view.zoom * factor * 100) / 100))
  const ratio = zoom / view.zoom
  const pan = { x: cursor.x - (cursor.x - view.pan.x) * ratio, y: cursor.y - (cursor.y - view.pan.y) * ratio }
  return clampPan({ zoom, pan }, size)
}
