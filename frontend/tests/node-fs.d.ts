// The one Node API a test uses (reading a source file of the server), without all of @types/node.
declare module 'node:fs' {
  export function readFileSync(path: URL, encoding: 'utf8'): string
}
