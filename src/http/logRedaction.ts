// What of a request URL may be logged. A key sent in the query string by mistake
// (?api_key=sluice_sk_…) is a credential, and a callback URL may carry a receiver's own token in
// its query: their values are replaced, the names kept so the log still says what was sent.

const SECRET_PARAMS = /^(api[_-]?key|key|access[_-]?token|token|secret|password|signature|callback_url)$/i;

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed escape: judge the name as sent
      }
      return eq !== -1 && SECRET_PARAMS.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}
