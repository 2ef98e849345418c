// The workflow's states and the jobs' progress stages in the words a person uses (display only: the
// names themselves are the workflow's, workflows/image_ai_analysis.asl.json, and the jobs', jobs/*.py).

const STATES: Record<string, string> = {
  ValidateInput: 'Checking the image',
  ChooseOperation: 'Starting',
  Upscale: 'Enlarging',
  Denoise: 'Removing noise',
  DetectText: 'Looking for text',
  AfterDetectText: 'Looking for text',
  Inpaint: 'Filling in',
  RunChunks: 'Working on the image in parts',
  ChunkJobs: 'Working on the image in parts',
  ChunkJob: 'Working on the image in parts',
  RecordResult: 'Saving the result',
  RecordFailure: 'Noting what went wrong',
}

// The jobs' stages (jobs/*.py progress): what each is doing, or what it counts. The tiler's stages (upscale,
// denoising) count steps within tiles, not anything a person counts: the state and the percent say it all.
const STAGES: Record<string, { words?: string; unit?: string }> = {
  'load-model': { words: 'Loading the model' },
  'reading input': { words: 'Reading the photo' },
  'writing result': { words: 'Writing the result' },
  upscale: {},
  denoising: {},
  done: {},
  tiles: { unit: 'parts' },
  'detecting text': { unit: 'parts' },
  inpainting: { unit: 'areas' },
}

/** The workflow state in plain words; an unknown one as it is, split before its capitals. */
export function stateWords(state: string | null | undefined): string {
  if (!state) return ''
  return STATES[state] ?? state.replace(/([a-z])([A-Z])/g, '$1 $2')
}

/** A job's stage in plain words: "Loading the model", "2 of 5 areas done", or nothing more to say. */
export function stageWords(stage: string | null | undefined, done: number, total: number): string {
  if (!stage) return ''
  // The tiler words its stage "upscale (estimated within tiles)" (jobs/tiler.py): the same stage.
  const known = STAGES[stage.replace(/\s*\(estimated within tiles\)$/, '').toLowerCase()]
  if (!known) return total > 1 ? `${stage} (${Math.min(done, total)} of ${total})` : stage
  if (known.unit) return total > 1 ? `${Math.min(done, total)} of ${total} ${known.unit} done` : ''
  return known.words ?? ''
}
