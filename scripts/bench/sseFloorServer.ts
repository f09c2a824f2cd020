// The floor for idle event streams: a bare node:http server that answers every GET with an event
// stream (status, headers, a `retry:` line) and keeps it open, nothing else: no Express, no
// auth, no watchers. Started by the bench's "watchers" section beside the api, for the memory an
// open response costs Node itself on this machine.
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' });
  res.write('retry: 2000\n\nevent: status\nid: 1-0\ndata: {}\n\n');
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ ready: true, port: (server.address() as { port: number }).port }); // to bench/watchers.ts
});
