// A small choice of the user's kept across visits (localStorage), such as whether "Advanced" is open.
import { ref, watch, type Ref } from 'vue'

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key)
  } catch {
    return null // storage refused (a private window, a policy): the choice lasts this visit only
  }
}

/** A boolean remembered under `key`: `fallback` until the user changes it. */
export function useRememberedFlag(key: string, fallback: boolean): Ref<boolean> {
  const stored = read(key)
  const flag = ref(stored === null ? fallback : stored === 'true')
  watch(flag, (value) => {
    try {
      window.localStorage.setItem(key, String(value))
    } catch {
      /* not remembered; still changed */
    }
  })
  return flag
}
