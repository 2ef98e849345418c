// The web app knows no operation by name: every label, description and capability comes from the served
// GET /operations (src/lib/operations.ts), so a new operation needs no code here and no per-operation map
// can come back. Each name the server serves (an operation's, or its result job's) is looked for in the
// code under src/ (strings, keys, identifiers, template text), comments left out.
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import served from './served-operations.json'

// The app's own sources, as text (api-types.ts is generated from the server's OpenAPI document: it names
// the operations by design).
const SOURCES = import.meta.glob<string>(['../src/**/*.{ts,vue,css}', '!../src/lib/api-types.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
})

// Where a served name means something else, said why. Each entry must still be there (a stale one goes).
const ALLOWED: { file: string; name: string; why: string }[] = [
  { file: 'src/lib/stagewords.ts', name: 'upscale', why: "the jobs' progress stage JobStage.upscaling is named 'upscale'" },
]

type Finding = { file: string; name: string; line: number; text: string } // text: the line it is on

/** The served names that must not appear: each operation's and its result job's. */
export function servedNames(operations: { name: string; result_job?: string | null }[]): string[] {
  return [...new Set(operations.flatMap((o) => [o.name, o.result_job ?? o.name]))].sort()
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** The name as a word of its own: not part of a longer name ('inpainting', 'detect_text_box'). */
const wordOf = (name: string) => new RegExp(`(?<![A-Za-z0-9_$-])${escape(name)}(?![A-Za-z0-9_$-])`)

/** The pieces of TypeScript code a name could hide in (strings, template text, keys, identifiers), with their lines. */
function codePieces(code: string, firstLine = 1): { text: string; line: number }[] {
  const source = ts.createSourceFile('x.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const pieces: { text: string; line: number }[] = []
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteralLike(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node) ||
      ts.isIdentifier(node) ||
      ts.isPrivateIdentifier(node) ||
      ts.isRegularExpressionLiteral(node)
    ) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + firstLine
      pieces.push({ text: ts.isIdentifier(node) || ts.isPrivateIdentifier(node) ? node.text : node.getText(source), line })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return pieces
}

/** A source's pieces: a .vue file's scripts as code, its template and style as text without comments. */
function piecesOf(file: string, text: string): { text: string; line: number }[] {
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length
  if (file.endsWith('.ts')) return codePieces(text)
  const blank = (match: string) => match.replace(/[^\n]/g, ' ') // comments out, lines kept
  let rest = text.replace(/<!--[\s\S]*?-->/g, blank)
  const pieces: { text: string; line: number }[] = []
  rest = rest.replace(/(<script\b[^>]*>)([\s\S]*?)(<\/script>)/g, (whole, open: string, body: string, _close: string, at: number) => {
    pieces.push(...codePieces(body, lineAt(at + open.length)))
    return blank(whole)
  })
  rest = rest.replace(/\/\*[\s\S]*?\*\//g, blank) // CSS comments
  rest.split('\n').forEach((line, i) => pieces.push({ text: line, line: i + 1 }))
  return pieces
}

/** Where the names appear in one file. */
export function findNames(file: string, text: string, names: string[]): Finding[] {
  const lines = text.split('\n')
  return piecesOf(file, text).flatMap((piece) =>
    names
      .filter((name) => wordOf(name).test(piece.text))
      .map((name) => ({ file, name, line: piece.line, text: (lines[piece.line - 1] ?? piece.text).trim() })),
  )
}

const NAMES = servedNames(served)

function findingsInSources(): Finding[] {
  return Object.entries(SOURCES).flatMap(([path, text]) => findNames(path.replace(/^\.\.\//, ''), text, NAMES))
}

describe('no operation is known by name in the web app', () => {
  it('reads the sources and the served names it looks for', () => {
    const files = Object.keys(SOURCES)
    expect(files).toContain('../src/lib/operations.ts')
    expect(files).toContain('../src/components/OperationPicker.vue')
    expect(files).not.toContain('../src/lib/api-types.ts')
    expect(NAMES).toEqual(expect.arrayContaining(['upscale', 'denoise', 'inpaint', 'detect_text', 'detect-text']))
  })

  it('finds a name in code, keys and templates, but not in comments or inside longer names', () => {
    const names = ['inpaint', 'detect_text']
    const code = `// inpaint is named in a comment\n/* detect_text too */\nconst stage = 'inpainting'\nif (op === 'inpaint') go()\nconst words = { detect_text: 'x' }\n`
    expect(findNames('src/a.ts', code, names).map((f) => [f.name, f.line])).toEqual([
      ['inpaint', 4],
      ['detect_text', 5],
    ])
    const vue = `<script setup lang="ts">\n// inpaint\nconst a = 1\nconst b = \`run \${a} detect_text\`\n</script>\n<template>\n  <!-- inpaint -->\n  <p v-if="op === 'inpaint'">x</p>\n</template>\n`
    expect(findNames('src/b.vue', vue, names).map((f) => [f.name, f.line])).toEqual([
      ['detect_text', 4],
      ['inpaint', 8],
    ])
  })

  it('no file under src/ names an operation the server serves (outside comments)', () => {
    const allowed = (f: Finding) => ALLOWED.some((a) => a.file === f.file && a.name === f.name)
    const found = findingsInSources().filter((f) => !allowed(f))
    const said = found.map((f) => `${f.file}:${f.line}: '${f.name}' in ${f.text}`)
    expect(said, 'read it from the served operation (src/lib/operations.ts) instead').toEqual([])
  })

  it('each allowed use is still there (a stale one is removed)', () => {
    const found = findingsInSources()
    for (const a of ALLOWED) expect(found.some((f) => f.file === a.file && f.name === a.name), `${a.file}: ${a.name}`).toBe(true)
  })
})
