import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors.js';

/**
 * A body that stops arriving is cut after `idleMs` without a byte (slowloris on the body):
 * the socket is destroyed, so an upload in progress ends as a failed job rather than holding a
 * connection and a database row for ever. Only while a body is being received: a long poll
 * (GET ?wait=) has no body and is not affected.
 */
export function bodyIdleTimeout(idleMs: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody || req.complete) return next();
    const socket = req.socket;
    const onTimeout = () => {
      req.log?.warn({ idleMs }, 'request body stalled; closing the connection');
      socket.destroy();
    };
    socket.setTimeout(idleMs);
    socket.on('timeout', onTimeout);
    const done = () => {
      socket.off('timeout', onTimeout);
      if (!socket.destroyed) socket.setTimeout(0);
    };
    req.once('end', done);
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

/** 413 before reading a byte when the declared Content-Length is already over the limit. */
export function declaredSizeLimit(maxBytes: number, what: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) throw new HttpError('payload_too_large', `The request body (${declared} bytes) is larger than the ${maxBytes} bytes allowed for ${what}.`);
    next();
  };
}

/**
 * Throws when JSON text nests deeper than `maxDepth` arrays/objects. Runs on the raw bytes before
 * JSON.parse (express.json's `verify`), so a deeply nested body never reaches code that recurses.
 */
export function assertJsonDepth(buf: Buffer, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) throw new HttpError('json_too_deep', `The JSON body nests deeper than ${maxDepth} levels (MAX_JSON_DEPTH).`);
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
}
