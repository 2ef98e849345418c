// Where the API is. Locally the API serves the page, so it is the same origin. In AWS the page comes
// from CloudFront and the deployment puts `config.json` ({"api_base_url": "https://…"}) beside it.
export interface FrontendConfig {
  apiBaseUrl: string
}

export async function loadConfig(fetcher: typeof fetch = (...args) => fetch(...args)): Promise<FrontendConfig> {
  try {
    const response = await fetcher('/config.json', { cache: 'no-store' })
    if (!response.ok) return { apiBaseUrl: '' }
    const body = (await response.json()) as { api_base_url?: unknown }
    const base = typeof body.api_base_url === 'string' ? body.api_base_url : ''
    return { apiBaseUrl: base.replace(/\/+$/, '') }
  } catch {
    return { apiBaseUrl: '' } // no config: the API is where the page is
  }
}
