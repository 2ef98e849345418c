// Undo and redo for the mask brush: a snapshot of the canvas is taken before each stroke.

export class UndoStack<T> {
  private done: T[] = []
  private undone: T[] = []

  /** limit: snapshots kept (the oldest are dropped), so a large image cannot fill the memory. */
  constructor(private readonly limit = 30) {}

  get canUndo(): boolean {
    return this.done.length > 0
  }

  get canRedo(): boolean {
    return this.undone.length > 0
  }

  /** Record the state before a change; a new change forgets what was undone. */
  push(before: T): void {
    this.done.push(before)
    if (this.done.length > this.limit) this.done.shift()
    this.undone = []
  }

  /** The state to go back to (the current one is kept for redo), or null with nothing to undo. */
  undo(current: T): T | null {
    const previous = this.done.pop()
    if (previous === undefined) return null
    this.undone.push(current)
    return previous
  }

  redo(current: T): T | null {
    const next = this.undone.pop()
    if (next === undefined) return null
    this.done.push(current)
    return next
  }

  clear(): void {
    this.done = []
    this.undone = []
  }
}

/** How many snapshots of a width×height RGBA canvas fit in `budgetBytes` (at least 3, at most 50). */
export function snapshotLimit(width: number, height: number, budgetBytes = 256e6): number {
  return Math.max(3, Math.min(50, Math.floor(budgetBytes / Math.max(1, width * height * 4))))
}

export const BRUSH_MIN = 4
export const BRUSH_MAX = 160

/** `[` and `]` change the brush size by a step that grows with it, as in IOPaint. */
export function resizeBrush(size: number, key: string): number {
  const step = Math.max(2, Math.round(size * 0.2))
  const next = key === ']' ? size + step : key === '[' ? size - step : size
  return Math.min(BRUSH_MAX, Math.max(BRUSH_MIN, next))
}
