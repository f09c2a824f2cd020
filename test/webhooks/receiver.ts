// A webhook receiver as a downstream system would write one, run as its own process on loopback.
// It verifies every request with the `standardwebhooks` package (once per secret it was given, so
// a test can tell which secrets each delivery verifies with), processes each webhook-id once, and
// answers as RECEIVER_SCRIPT says: a JSON array of {status, delayMs?, headers?}, one per request,
// the last repeated. It reports each request as a JSON line on stdout.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

interface Step {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

const secrets = (process.env.RECEIVER_SECRETS ?? '').split(',').filter(Boolean);
const script: Step[] = JSON.parse(process.env.RECEIVER_SCRIPT ?? '[{"status":200}]');
const port = Number(process.env.RECEIVER_PORT ?? 0);
const processed = new Set<string>();
let n = 0;

const report = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    const verified = secrets.map((s) => {
      try {
        new Webhook(s).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    });
    const step = script[Math.min(n, script.length - 1)];
    n += 1;
    const authentic = verified.some(Boolean);
    const status = authentic ? step.status : 401;
    const ok = status >= 200 && status < 300;
    const duplicate = processed.has(headers['webhook-id']);
    if (ok) processed.add(headers['webhook-id']);
    let payload: unknown = null;
    try {
      payload = JSON.parse(body);
    } catch {}
    report({
      type: 'request',
      n,
      path: req.url,
      webhookId: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signatures: headers['webhook-signature'].split(' ').filter(Boolean),
      verified,
      status,
      duplicate,
      payload,
    });
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain', ...step.headers });
      res.end(step.body ?? (ok ? 'ok' : `answered ${status}`));
    }, step.delayMs ?? 0);
  });
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  report({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : port });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
